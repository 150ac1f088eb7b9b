package exchange

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/shared/fault"
	"chancery/sync/pouch"
)

// Resumable upload. A pouch larger than SmallPouch is uploaded in a way
// that survives a dropped connection: the mission creates an upload of a
// known length, sends bytes from an offset, asks HQ how far it got when
// the connection drops, and goes on from there. It is the core of the tus
// protocol (creation, HEAD for the offset, PATCH to append), with the
// same header names, plus one call that hands the finished pouch to the
// exchange:
//
//	POST  /api/v1/uploads   Upload-Length: N, body: the pouch's head  → 201, Location, Upload-Offset
//	HEAD  /api/v1/uploads/{id}                                        → Upload-Offset
//	PATCH /api/v1/uploads/{id}  Upload-Offset: k                      → 204, Upload-Offset
//	POST  /api/v1/uploads/{id}/exchange                               → the reply pouch
//
// The creation carries the pouch's first pouch.HeadSize bytes, whose
// signed manifest HQ checks (HQ.Admit) before it stores a byte: only an
// enrolled mission's genuine pouch opens an upload, and an upload is
// named after its pouch, so sending the creation again (a retry, or a
// later sync with the same pouch) resumes it rather than opening another.
// Uploads are capped per mission, in number and in bytes overall, and
// expire. Each upload is written by one request at a time; no lock is held
// across the network.
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
	// once; MaxBytes the most bytes they may add up to; PerMission the
	// most one mission may have; TTL how long an unfinished upload is
	// kept. Zero MaxBytes and PerMission take the defaults below.
	Max        int64
	MaxOpen    int
	MaxBytes   int64
	PerMission int
	TTL        time.Duration

	// mu guards busy and the folder's listing; it is never held while a
	// request body is read.
	mu   sync.Mutex
	busy map[string]bool
}

// Defaults for the caps. A mission has one pouch in flight, and a second
// while a sync follows a lost one: four leaves room for a slow link's
// leftovers. 4 GiB bounds the disk a flood of genuine uploads can take.
const (
	DefaultPerMission = 4
	DefaultMaxBytes   = 4 << 30
)

var uploadID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func (u *Uploads) paths(id string) (data, length string) {
	return filepath.Join(u.Dir, id+".part"), filepath.Join(u.Dir, id+".len")
}

// upload is what the .len file of an upload records.
type upload struct {
	length  int64
	mission string
}

func (u *Uploads) record(id string) (upload, error) {
	_, lpath := u.paths(id)
	b, err := os.ReadFile(lpath)
	if err != nil {
		return upload{}, err
	}
	n, mission, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	length, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return upload{}, fmt.Errorf("upload %s: damaged record", id)
	}
	return upload{length, mission}, nil
}

// sweep removes uploads older than the TTL and returns those that remain.
// The caller holds mu.
func (u *Uploads) sweep() map[string]upload {
	files, _ := filepath.Glob(filepath.Join(u.Dir, "*.len"))
	out := map[string]upload{}
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".len")
		st, err := os.Stat(f)
		if err == nil && time.Since(st.ModTime()) > u.TTL && !u.busy[id] {
			d, l := u.paths(id)
			os.Remove(d)
			os.Remove(l)
			continue
		}
		if r, err := u.record(id); err == nil {
			out[id] = r
		}
	}
	return out
}

// take marks an upload as being written by one request; false if another
// is writing it.
func (u *Uploads) take(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.busy[id] {
		return false
	}
	if u.busy == nil {
		u.busy = map[string]bool{}
	}
	u.busy[id] = true
	return true
}

func (u *Uploads) give(id string) {
	u.mu.Lock()
	delete(u.busy, id)
	u.mu.Unlock()
}

func apiError(c echo.Context, status int, msg string) error {
	return c.JSON(status, map[string]string{"error": msg})
}

func errBusy(c echo.Context) error {
	return apiError(c, http.StatusConflict, "another request is sending this upload; ask HQ for the offset and go on from there")
}

func (u *Uploads) create(hq HQ) echo.HandlerFunc {
	return func(c echo.Context) error {
		n, err := strconv.ParseInt(c.Request().Header.Get("Upload-Length"), 10, 64)
		if err != nil || n <= 0 {
			return apiError(c, http.StatusBadRequest, "an upload needs an Upload-Length header with the pouch's size in bytes")
		}
		if n > u.Max {
			return apiError(c, http.StatusRequestEntityTooLarge, "the pouch is larger than this server accepts; send the backlog in smaller pouches")
		}
		head, err := io.ReadAll(io.LimitReader(c.Request().Body, pouch.HeadSize+1))
		if err != nil {
			return apiError(c, http.StatusBadRequest, "the upload's creation was cut off; try again")
		}
		if int64(len(head)) != min(n, pouch.HeadSize) {
			return apiError(c, http.StatusBadRequest, fmt.Sprintf("an upload's creation carries the pouch's first %d bytes", min(n, pouch.HeadSize)))
		}
		mission, pouchID, err := hq.Admit(c.Request().Context(), head)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte("chancery upload\x00" + mission + "\x00" + pouchID))
		id := hex.EncodeToString(sum[:16])
		if !u.take(id) {
			return errBusy(c)
		}
		defer u.give(id)
		c.Response().Header().Set("Location", PathUploads+"/"+id)
		if rec, err := u.record(id); err == nil {
			// The same pouch again: go on with the upload it has.
			if rec.length != n || rec.mission != mission {
				return apiError(c, http.StatusConflict, "an upload of this pouch with another length is in progress")
			}
			_, offset, err := u.state(id)
			if err != nil {
				return err
			}
			c.Response().Header().Set("Upload-Offset", strconv.FormatInt(offset, 10))
			return c.NoContent(http.StatusCreated)
		}
		if err := os.MkdirAll(u.Dir, 0o700); err != nil {
			return err
		}
		if status, msg := u.admit(mission, n); status != 0 {
			return apiError(c, status, msg)
		}
		data, length := u.paths(id)
		if err := writeSynced(data, head); err != nil {
			return err
		}
		if err := writeSynced(length, []byte(strconv.FormatInt(n, 10)+" "+mission)); err != nil {
			os.Remove(data)
			return err
		}
		c.Response().Header().Set("Upload-Offset", strconv.Itoa(len(head)))
		return c.NoContent(http.StatusCreated)
	}
}

// admit checks the caps for a new upload of n bytes by mission: a status
// and message if it may not open, 0 if it may.
// Open reports how many uploads are in progress and the bytes they will
// add up to.
func (u *Uploads) Open() (n int, bytes int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, r := range u.sweep() {
		n, bytes = n+1, bytes+r.length
	}
	return n, bytes
}

func (u *Uploads) admit(mission string, n int64) (int, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	open := u.sweep()
	perMission, maxBytes := cmp.Or(u.PerMission, DefaultPerMission), cmp.Or(u.MaxBytes, DefaultMaxBytes)
	mine, total := 0, n
	for _, r := range open {
		if r.mission == mission {
			mine++
		}
		total += r.length
	}
	switch {
	case mine >= perMission:
		return http.StatusTooManyRequests, fmt.Sprintf("%s has %d uploads in progress already; finish or abandon one (they expire after %s)", mission, mine, u.TTL)
	case len(open) >= u.MaxOpen || total > maxBytes:
		return http.StatusServiceUnavailable, "HQ has too many uploads in progress; try again later"
	}
	return 0, ""
}

// writeSynced writes a new file and syncs it to disk.
func writeSynced(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// state returns an upload's length and the bytes received so far.
func (u *Uploads) state(id string) (length, offset int64, err error) {
	if !uploadID.MatchString(id) {
		return 0, 0, os.ErrNotExist
	}
	rec, err := u.record(id)
	if err != nil {
		return 0, 0, err
	}
	data, _ := u.paths(id)
	st, err := os.Stat(data)
	if err != nil {
		return 0, 0, err
	}
	return rec.length, st.Size(), nil
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
	if !uploadID.MatchString(id) {
		return apiError(c, http.StatusNotFound, "no such upload; it may have expired: start again")
	}
	if !u.take(id) {
		return errBusy(c)
	}
	defer u.give(id)
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
		if !uploadID.MatchString(id) {
			return apiError(c, http.StatusNotFound, "no such upload; it may have expired: start again")
		}
		if !u.take(id) {
			return errBusy(c)
		}
		defer u.give(id)
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
		return answer(c, reply)
	}
}
