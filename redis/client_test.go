package redis

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dockercoins/dockercoins/internal/settings"
)

// The password comes from REDIS_PASSWORD or from the file REDIS_PASSWORD_FILE names
// (its line end dropped); both, an empty file or a missing one are errors.
func TestAuthPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, empty := write("good", "s3cret\n"), write("empty", "\n")
	for _, tc := range []struct {
		env     map[string]string
		want    string
		wantErr string
	}{
		{env: map[string]string{"REDIS_PASSWORD": "direct"}, want: "direct"},
		{env: map[string]string{"REDIS_PASSWORD_FILE": good}, want: "s3cret"},
		{env: map[string]string{}, want: ""},
		{env: map[string]string{"REDIS_PASSWORD_FILE": good, "REDIS_PASSWORD": "x"}, wantErr: "both set"},
		{env: map[string]string{"REDIS_PASSWORD_FILE": empty}, wantErr: "is empty"},
		{env: map[string]string{"REDIS_PASSWORD_FILE": filepath.Join(dir, "missing")}, wantErr: "no such file"},
	} {
		var a Auth
		s := settings.New("test", new(bytes.Buffer))
		a.Register(s)
		if err := s.Parse(nil, func(k string) string { return tc.env[k] }); err != nil {
			t.Fatal(err)
		}
		err := a.Load()
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one saying %q", tc.env, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.wantErr == "" && a.Password != tc.want:
			t.Errorf("%v: password %q, want %q", tc.env, a.Password, tc.want)
		}
	}
}
