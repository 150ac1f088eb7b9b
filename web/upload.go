package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/shared/evidence"
	"chancery/shared/problem"
)

// Uploads returns the files sent in the form field, none when the form
// has no such field or is not multipart. A file over max bytes is refused
// with a message that says the limit, and none is read.
func Uploads(c echo.Context, field string, max int64) ([]evidence.Upload, error) {
	form, err := c.MultipartForm()
	if errors.Is(err, http.ErrNotMultipart) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []evidence.Upload
	for _, fh := range form.File[field] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the field left empty
		}
		if fh.Size > max {
			return nil, problem.New(problem.Invalid, "incident.file_size", "Max", max>>20)
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, max+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > max {
			return nil, problem.New(problem.Invalid, "incident.file_size", "Max", max>>20)
		}
		out = append(out, evidence.Upload{Name: fh.Filename, Data: data})
	}
	return out, nil
}
