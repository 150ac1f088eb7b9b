package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"chancery/shared/problem"
)

// Argon2id parameters. 19 MiB and two passes is the smallest setting the
// OWASP password storage guidance accepts for argon2id; it keeps a login
// near 30 ms on one core, cheap for a person and slow for a guesser, and
// leaves the agent's memory budget alone.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// Hashing slots. An argon2id hash holds 19 MiB while it runs, so HQ
// computes at most hashSlots at once, one per core (and two at least):
// two hundred logins at once cost HQ a few dozen MiB, not gigabytes. A
// login waits at most Service.LoginWait for a slot and is otherwise told to try
// again in a moment, without its password being tried.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// DefaultLoginWait is how long a login waits for a hashing slot.
const DefaultLoginWait = time.Second

// ErrBusy answers a login that found every hashing slot taken.
var ErrBusy = problem.New(problem.TooMany, "account.busy")

// hashSlot takes a hashing slot, waiting at most wait, and returns the
// function that gives it back.
func hashSlot(ctx context.Context, wait time.Duration) (func(), error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case hashSlots <- struct{}{}:
		return func() { <-hashSlots }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// HashPassword returns the argon2id hash of password in the PHC string
// format, with a fresh random salt. It waits for a hashing slot.
func HashPassword(password string) (string, error) {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return hashPassword(password)
}

func hashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC hash. The
// parameters are read from the hash, so hashes made with older settings
// keep working. It waits for a hashing slot.
func CheckPassword(hash, password string) bool {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return matches(hash, password)
}

func matches(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	if m > 256*1024 || t > 16 || p == 0 {
		return false // parameters no hash of ours has: refuse rather than burn memory
	}
	got := idKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// idKey runs argon2id and then, in the background, hands its memory back
// to the operating system. A hash takes 19 MiB for a moment; logins are
// rare, and an agent that sits idle at a mission should not keep that
// memory for the minutes the runtime would otherwise wait. The person
// logging in does not wait for it.
func idKey(password, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	key := argon2.IDKey(password, salt, t, m, p, n)
	go debug.FreeOSMemory()
	return key
}

// GeneratePassword returns a random password of 20 characters from an
// alphabet without look-alike characters, for first logins.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
