// Package hello is the small project the README's main job builds, tests and
// gates with shipgate.
package hello

import "strings"

// Greeting says hello to name, or to the world when name is empty.
func Greeting(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "world"
	}
	return "hello, " + name + "!"
}

// Shout is Greeting in capitals.
func Shout(name string) string { return strings.ToUpper(Greeting(name)) }
