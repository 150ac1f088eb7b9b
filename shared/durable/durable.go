// Package durable writes files that are whole or absent, whatever
// crashes: the content goes to a temporary file in the same folder, which
// is synced, renamed over the name, and the folder synced. A reader never
// sees half a pouch or half a backup.
package durable

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// ErrExists is returned by Create when the file is already there.
var ErrExists = errors.New("file already exists")

// WriteFile writes the file name with what write produces, replacing it
// if it exists.
func WriteFile(name string, write func(io.Writer) error) error {
	return put(name, write, true)
}

// Create is WriteFile for a file that must not exist yet, such as a
// backup that must never overwrite an older one.
func Create(name string, write func(io.Writer) error) error {
	return put(name, write, false)
}

func put(name string, write func(io.Writer) error, replace bool) error {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, ".chancery-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp.Name(), name)
	} else {
		// A hard link fails if the name exists, where rename would replace it.
		if err = os.Link(tmp.Name(), name); errors.Is(err, os.ErrExist) {
			return ErrExists
		}
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
