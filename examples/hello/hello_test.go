package hello

import "testing"

func TestGreeting(t *testing.T) {
	for in, want := range map[string]string{"": "hello, world!", " ann ": "hello, ann!"} {
		if got := Greeting(in); got != want {
			t.Errorf("Greeting(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShout(t *testing.T) {
	if got := Shout("bob"); got != "HELLO, BOB!" {
		t.Errorf("Shout = %q", got)
	}
}
