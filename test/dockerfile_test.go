package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/dockercoins/dockercoins/test/testbed"
)

// Every service image, and the control program's (the compose file's secrets job), is
// multi-stage (a Go build, then a minimal static image), runs as a non-root user and
// names no floating `latest` tag. Checked with BuildKit's own parser.
func TestDockerfilesAreMultiStageAndNonRoot(t *testing.T) {
	files := map[string]string{"dockercoins": filepath.Join("cmd", "dockercoins", "Dockerfile")}
	for _, svc := range appServices {
		files[svc] = filepath.Join("services", svc, "Dockerfile")
	}
	for name, file := range files {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(testbed.Root(), file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ast, err := parser.Parse(f)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			stages, _, err := instructions.Parse(ast.AST, nil)
			if err != nil {
				t.Fatalf("instructions: %v", err)
			}
			if len(stages) < 2 {
				t.Fatalf("%d stage(s), want a build stage and a runtime stage", len(stages))
			}
			for _, st := range stages {
				if base := st.BaseName; !strings.Contains(base, ":") || strings.HasSuffix(base, ":latest") {
					t.Errorf("FROM %s: pin a tag, not latest", base)
				}
			}
			final := stages[len(stages)-1]
			if strings.HasPrefix(final.BaseName, "golang") {
				t.Errorf("runtime image is %s: it must not carry the Go toolchain", final.BaseName)
			}
			var user string
			var copiesBuild bool
			for _, c := range final.Commands {
				switch c := c.(type) {
				case *instructions.UserCommand:
					user = c.User
				case *instructions.CopyCommand:
					copiesBuild = copiesBuild || c.From == stages[0].Name
				}
			}
			if user == "" || user == "root" || strings.HasPrefix(user, "0") {
				t.Errorf("runtime stage runs as %q, want a non-root user", user)
			}
			if !copiesBuild {
				t.Errorf("runtime stage does not copy the binary from the build stage %q", stages[0].Name)
			}
		})
	}
}
