package settings

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestFlagBeatsVariableBeatsDefault(t *testing.T) {
	env := map[string]string{"DELAY": "250ms", "NAME": "from-env", "SLOTS": "bad"}
	var delay time.Duration
	var name string
	var slots int
	s := New("t", io.Discard)
	s.Duration(&delay, "delay", "DELAY", time.Second, "")
	s.String(&name, "name", "NAME", "def", "")
	s.Int(&slots, "slots", "SLOTS", 1, "")
	if err := s.Parse([]string{"-name", "from-flag", "-slots", "3"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if delay != 250*time.Millisecond || name != "from-flag" || slots != 3 {
		t.Fatalf("got delay=%v name=%q slots=%d", delay, name, slots)
	}
}

func TestBadVariableNamesIt(t *testing.T) {
	var slots int
	s := New("t", io.Discard)
	s.Int(&slots, "slots", "RNG_SLOTS", 1, "")
	err := s.Parse(nil, func(k string) string { return map[string]string{"RNG_SLOTS": "many"}[k] })
	if err == nil || !strings.Contains(err.Error(), "RNG_SLOTS") {
		t.Fatalf("want an error naming RNG_SLOTS, got %v", err)
	}
}

func TestStrayArgumentIsAnError(t *testing.T) {
	s := New("t", io.Discard)
	if err := s.Parse([]string{"oops"}, func(string) string { return "" }); err == nil {
		t.Fatal("want an error for a stray argument")
	}
}
