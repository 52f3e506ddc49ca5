package dockercoins

import "testing"

func TestCoinsStartWithZero(t *testing.T) {
	for hash, want := range map[string]bool{"0abc": true, "00": true, "a0": false, "": false, "f0": false} {
		if IsCoin(hash) != want {
			t.Errorf("IsCoin(%q) = %v", hash, !want)
		}
	}
}
