package exchange

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/shared/fault"
)

// Resumable upload. A pouch larger than SmallPouch is uploaded in a way
// that survives a dropped connection: the mission creates an upload of a
// known length, sends bytes from an offset, asks HQ how far it got when
// the connection drops, and goes on from there. It is the core of the tus
// protocol (creation, HEAD for the offset, PATCH to append), with the
// same header names, plus one call that hands the finished pouch to the
// exchange:
//
//	POST  /api/v1/uploads               Upload-Length: N    → 201, Location
//	HEAD  /api/v1/uploads/{id}                              → Upload-Offset
//	PATCH /api/v1/uploads/{id}          Upload-Offset: k    → 204, Upload-Offset
//	POST  /api/v1/uploads/{id}/exchange                     → the reply pouch
//
// Bytes are appended and synced to disk before HQ reports an offset, so a
// reported offset is never lost, even if HQ crashes.
const (
	PathUploads = "/api/v1/uploads"
	// SmallPouch is the largest pouch sent in one request; larger ones go
	// by resumable upload.
	SmallPouch = 64 << 10
)

// Uploads keeps uploads in progress as files in a folder.
type Uploads struct {
	Dir string
	// Max is the largest upload; MaxOpen the most uploads in progress at
	// once; TTL how long an unfinished upload is kept.
	Max     int64
	MaxOpen int
	TTL     time.Duration

	mu sync.Mutex // serialises appends to one upload; uploads are small in number
}

var uploadID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func (u *Uploads) paths(id string) (data, length string) {
	return filepath.Join(u.Dir, id+".part"), filepath.Join(u.Dir, id+".len")
}

// sweep removes uploads older than the TTL and returns how many remain.
func (u *Uploads) sweep() int {
	files, _ := filepath.Glob(filepath.Join(u.Dir, "*.len"))
	n := 0
	for _, f := range files {
		st, err := os.Stat(f)
		if err == nil && time.Since(st.ModTime()) > u.TTL {
			id := filepath.Base(f)[:32]
			d, l := u.paths(id)
			os.Remove(d)
			os.Remove(l)
			continue
		}
		n++
	}
	return n
}

func apiError(c echo.Context, status int, msg string) error {
	return c.JSON(status, map[string]string{"error": msg})
}

func (u *Uploads) create(c echo.Context) error {
	n, err := strconv.ParseInt(c.Request().Header.Get("Upload-Length"), 10, 64)
	if err != nil || n <= 0 {
		return apiError(c, http.StatusBadRequest, "an upload needs an Upload-Length header with the pouch's size in bytes")
	}
	if n > u.Max {
		return apiError(c, http.StatusRequestEntityTooLarge, "the pouch is larger than this server accepts; send the backlog in smaller pouches")
	}
	if err := os.MkdirAll(u.Dir, 0o700); err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.sweep() >= u.MaxOpen {
		return apiError(c, http.StatusServiceUnavailable, "HQ has too many uploads in progress; try again later")
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	data, length := u.paths(id)
	if err := os.WriteFile(data, nil, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(length, []byte(strconv.FormatInt(n, 10)), 0o600); err != nil {
		return err
	}
	c.Response().Header().Set("Location", PathUploads+"/"+id)
	c.Response().Header().Set("Upload-Offset", "0")
	return c.NoContent(http.StatusCreated)
}

// state returns an upload's length and the bytes received so far.
func (u *Uploads) state(id string) (length, offset int64, err error) {
	if !uploadID.MatchString(id) {
		return 0, 0, os.ErrNotExist
	}
	data, lpath := u.paths(id)
	lb, err := os.ReadFile(lpath)
	if err != nil {
		return 0, 0, err
	}
	length, _ = strconv.ParseInt(string(lb), 10, 64)
	st, err := os.Stat(data)
	if err != nil {
		return 0, 0, err
	}
	return length, st.Size(), nil
}

func (u *Uploads) head(c echo.Context) error {
	length, offset, err := u.state(c.Param("id"))
	if err != nil {
		return apiError(c, http.StatusNotFound, "no such upload; it may have expired: start again")
	}
	h := c.Response().Header()
	h.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	h.Set("Upload-Length", strconv.FormatInt(length, 10))
	h.Set("Cache-Control", "no-store")
	return c.NoContent(http.StatusOK)
}

func (u *Uploads) patch(c echo.Context) error {
	id := c.Param("id")
	u.mu.Lock()
	defer u.mu.Unlock()
	length, offset, err := u.state(id)
	if err != nil {
		return apiError(c, http.StatusNotFound, "no such upload; it may have expired: start again")
	}
	at, err := strconv.ParseInt(c.Request().Header.Get("Upload-Offset"), 10, 64)
	if err != nil || at != offset {
		c.Response().Header().Set("Upload-Offset", strconv.FormatInt(offset, 10))
		return apiError(c, http.StatusConflict, fmt.Sprintf("HQ holds %d bytes of this upload; send from there", offset))
	}
	data, _ := u.paths(id)
	f, err := os.OpenFile(data, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	// Whatever arrives before the connection drops is kept and synced, so
	// the sender resumes from there.
	n, copyErr := io.Copy(f, io.LimitReader(c.Request().Body, length-offset))
	syncErr := f.Sync()
	f.Close()
	if syncErr != nil {
		return syncErr
	}
	fault.Point("hq-mid-upload")
	c.Response().Header().Set("Upload-Offset", strconv.FormatInt(offset+n, 10))
	if copyErr != nil {
		return apiError(c, http.StatusBadRequest, "the upload was cut off; ask for the offset and go on")
	}
	return c.NoContent(http.StatusNoContent)
}

func (u *Uploads) finish(hq HQ) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		length, offset, err := u.state(id)
		if err != nil {
			return apiError(c, http.StatusNotFound, "no such upload; it may have expired: start again")
		}
		if offset != length {
			return apiError(c, http.StatusConflict, fmt.Sprintf("the upload is not complete: %d of %d bytes", offset, length))
		}
		data, lpath := u.paths(id)
		raw, err := os.ReadFile(data)
		if err != nil {
			return err
		}
		reply, err := hq.Exchange(c.Request().Context(), raw, Remote(c))
		if err != nil {
			return err
		}
		// The pouch is applied; the upload is no longer needed. A retry of
		// this call after a lost reply is answered 404, and the mission
		// sends its next pouch, whose receipt covers this one.
		os.Remove(data)
		os.Remove(lpath)
		return c.Blob(http.StatusOK, ContentType, reply)
	}
}
