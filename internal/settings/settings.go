// Package settings reads a service's settings from command-line flags, falling back to
// environment variables, so every setting can be given either way (12-factor).
//
// A flag given on the command line wins over its variable; a variable wins over the
// default. Variables are read through a getenv function so tests never touch the
// process environment.
package settings

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Set is a flag set whose flags each also read an environment variable.
type Set struct {
	fs  *flag.FlagSet
	env map[string]string // flag name -> variable name
}

// New returns an empty Set for the named program. Parse errors are returned, not fatal.
func New(program string, output io.Writer) *Set {
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	fs.SetOutput(output)
	return &Set{fs: fs, env: map[string]string{}}
}

func (s *Set) add(name, env string) string {
	s.env[name] = env
	return " [$" + env + "]"
}

// String defines a string setting.
func (s *Set) String(p *string, name, env, def, usage string) {
	s.fs.StringVar(p, name, def, usage+s.add(name, env))
}

// Duration defines a duration setting such as "100ms".
func (s *Set) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	s.fs.DurationVar(p, name, def, usage+s.add(name, env))
}

// Int defines an integer setting.
func (s *Set) Int(p *int, name, env string, def int, usage string) {
	s.fs.IntVar(p, name, def, usage+s.add(name, env))
}

// Bool defines a boolean setting ("true", "false", "1", "0").
func (s *Set) Bool(p *bool, name, env string, def bool, usage string) {
	s.fs.BoolVar(p, name, def, usage+s.add(name, env))
}

// Parse reads args, then fills every flag not given there from its variable.
func (s *Set) Parse(args []string, getenv func(string) string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", s.fs.Arg(0))
	}
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, env := range s.env {
		v := getenv(env)
		if given[name] || v == "" {
			continue
		}
		if err := s.fs.Set(name, v); err != nil {
			return fmt.Errorf("%s=%s: %w", env, strconv.Quote(v), err)
		}
	}
	return nil
}
