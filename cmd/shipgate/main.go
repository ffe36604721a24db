// Command shipgate runs GitHub Actions workflows on the host and carries the
// release-safety gates. main only wires the CLI; the work is in internal/.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
