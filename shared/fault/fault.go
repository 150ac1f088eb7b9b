// Package fault lets the crash tests stop a program dead at a named step,
// as a power cut or kill -9 would: when the environment variable
// CHANCERY_FAULT names a point the program reaches, the program kills
// itself with SIGKILL there, without any cleanup. Without the variable a
// point costs one string comparison.
package fault

import "os"

// Env is the variable that names the point to die at.
const Env = "CHANCERY_FAULT"

var at = os.Getenv(Env)

// Point dies here if the environment names this point.
func Point(name string) {
	if at != "" && at == name {
		die()
	}
}
