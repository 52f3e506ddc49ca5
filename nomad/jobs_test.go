package nomad

import "testing"

func TestVarsAreLiteralHCL(t *testing.T) {
	v := Vars{"b": `say "hi" \ ${not.a.ref} %{not a directive}`, "a": "line\nbreak", "n": "6"}
	want := `a = "line\nbreak"` + "\n" +
		`b = "say \"hi\" \\ $${not.a.ref} %%{not a directive}"` + "\n" +
		`n = "6"` + "\n"
	if got := v.hcl(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := (Vars(nil)).hcl(); got != "" {
		t.Errorf("no variables gave %q", got)
	}
}
