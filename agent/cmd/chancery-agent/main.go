// Command chancery-agent is the program that runs at each mission.
package main

import (
	"context"
	"os"

	"chancery/agent/app"
)

func main() {
	os.Exit(app.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
