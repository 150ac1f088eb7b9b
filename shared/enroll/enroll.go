// Package enroll holds the one-time codes with which a mission enrolls at
// HQ: how a code is made, how the forms people type are read, and the key
// both sides derive from it.
//
// A code is 80 random bits, shown as four groups of four base32 letters
// (ABCD-EFGH-IJKL-MNOP). It never travels: the mission proves it holds the
// code by a MAC over its request under [Key], and HQ proves the same over
// its answer. A machine in the middle that sees both learns neither the
// code nor anything it can use, and cannot change a byte of either
// message unnoticed. HQ keeps only the key, not the code.
package enroll

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// NewCode returns a fresh code in the form people read.
func NewCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	raw := base32.StdEncoding.EncodeToString(b) // 16 characters
	return raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
}

// Normalize removes the dashes and spaces people type in a code and
// upper-cases it.
func Normalize(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(code))
}

// Key is the secret both sides derive from a code: the mission from the
// code it was given, HQ from the code it issued (HQ stores this, not the
// code).
func Key(code string) []byte {
	s := sha256.Sum256([]byte("chancery enroll code\x00" + Normalize(code)))
	return s[:]
}
