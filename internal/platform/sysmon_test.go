package platform

import (
	"slices"
	"testing"
)

func TestWithSysmonSetting(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      []string
		want    []string
		changed bool
	}{
		{"no GODEBUG", []string{"A=1"}, []string{"A=1", "GODEBUG=" + SysmonSetting}, true},
		{"empty GODEBUG", []string{"GODEBUG=", "A=1"}, []string{"A=1", "GODEBUG=" + SysmonSetting}, true},
		{"other settings kept", []string{"GODEBUG=gctrace=1,madvdontneed=0"}, []string{"GODEBUG=gctrace=1,madvdontneed=0," + SysmonSetting}, true},
		{"operator's schedtrace wins", []string{"GODEBUG=gctrace=1,schedtrace=0"}, []string{"GODEBUG=gctrace=1,schedtrace=0"}, false},
		{"already restarted", []string{"GODEBUG=" + SysmonSetting, "A=1"}, []string{"GODEBUG=" + SysmonSetting, "A=1"}, false},
		{"a longer key is not schedtrace", []string{"GODEBUG=schedtraceX=1"}, []string{"GODEBUG=schedtraceX=1," + SysmonSetting}, true},
		{"the first GODEBUG counts, as for the runtime", []string{"GODEBUG=gctrace=1", "GODEBUG=schedtrace=0"}, []string{"GODEBUG=gctrace=1," + SysmonSetting}, true},
	} {
		got, changed := withSysmonSetting(c.in)
		if changed != c.changed || !slices.Equal(got, c.want) {
			t.Errorf("%s: withSysmonSetting(%q) = %q, %v; want %q, %v", c.name, c.in, got, changed, c.want, c.changed)
		}
	}
}
