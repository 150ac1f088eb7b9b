// Package problem is the error type shared by every Chancery program. An
// error carries a [Code] that decides how it is shown (an HTTP status, an
// exit status) and a message written for the person who has to act on it.
// Only errors with code [Internal] are logged: the others are answers.
package problem

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"chancery/shared/i18n"
)

// Code classifies an error.
type Code string

// Codes.
const (
	Invalid      Code = "invalid"      // the input is wrong; the message says how
	NotFound     Code = "not_found"    // no such thing
	Conflict     Code = "conflict"     // the request clashes with the current state
	Unauthorized Code = "unauthorized" // not logged in, or bad credentials
	Forbidden    Code = "forbidden"    // logged in, but the role does not allow it
	TooMany      Code = "too_many"     // rate limited; try later
	Unavailable  Code = "unavailable"  // a resource this machine lacks (disk space); try again once it is there
	Internal     Code = "internal"     // our fault
)

// Error is an error with a code and a user-facing message.
type Error struct {
	Code Code
	// Message is the message in English, for logs and the command line.
	Message string
	// Key and Args name the message in the catalog (see package i18n),
	// so that a page shows it in its reader's language; Key is "" for a
	// message that has only its English text.
	Key  string
	Args []any
	Err  error // the cause, if any; not shown to users
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// New returns an *Error with the given code and the catalog message key
// with its parameters, as name, value pairs (see [i18n.Printer.T]).
func New(code Code, key string, args ...any) error {
	return &Error{Code: code, Key: key, Args: args, Message: i18n.English().T(key, args...)}
}

// In returns the error's message in p's language.
func (e *Error) In(p *i18n.Printer) string {
	if e.Key == "" {
		return e.Message
	}
	return p.T(e.Key, e.Args...)
}

// Shown is err as a person is told it: itself when it is coded, else an
// error with the message MessageOf gives (the details stay in the log).
func Shown(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e
	}
	return &Error{Code: Internal, Key: "error.internal", Message: MessageOf(err)}
}

// CodeOf returns the code of err, or Internal when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the message to show for err: its own for coded
// errors, a generic one for internal errors, whose details stay in the log.
func MessageOf(err error) string { return MessageIn(err, i18n.English()) }

// MessageIn is MessageOf in p's language.
func MessageIn(err error, p *i18n.Printer) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.In(p)
	}
	return p.T("error.internal")
}

// Sentence makes a lower-case message a sentence's start: "level 5 is…"
// becomes "Level 5 is…".
func Sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
