// Command chancery-hq is the headquarters program.
package main

import (
	"context"
	"os"

	"chancery/hq/app"
)

func main() {
	os.Exit(app.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
