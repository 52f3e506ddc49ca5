package lab

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// Docker sets the FORWARD policy to DROP and has bridged traffic go through iptables,
// so once dockerd has run, packets between the namespaces on a bridge of ours are
// dropped (a cluster's clients time out dialing the server). allowForwarding lets a
// bridge's traffic through: in DOCKER-USER, the chain Docker keeps for its users' rules,
// when it exists, else in FORWARD when that drops by default; on a machine with neither
// it does nothing. disallowForwarding removes what it added.
func allowForwarding(bridge string) error {
	chain := forwardChain()
	if chain == "" {
		return nil
	}
	for _, dir := range []string{"-i", "-o"} {
		if err := iptables("-I", chain, dir, bridge, "-j", "ACCEPT"); err != nil {
			disallowForwarding(bridge)
			return err
		}
	}
	return nil
}

// disallowForwarding deletes the ACCEPT rules for bridge from DOCKER-USER and FORWARD,
// wherever they are, however many times they were added.
func disallowForwarding(bridge string) error {
	for _, chain := range []string{"DOCKER-USER", "FORWARD"} {
		for _, dir := range []string{"-i", "-o"} {
			rule := []string{chain, dir, bridge, "-j", "ACCEPT"}
			for range 10 {
				if iptables(append([]string{"-C"}, rule...)...) != nil {
					break
				}
				if err := iptables(append([]string{"-D"}, rule...)...); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// forwardChain is the chain where a bridge must be allowed, "" if none filters it.
func forwardChain() string {
	if _, err := exec.LookPath("iptables"); err != nil {
		return ""
	}
	if iptables("-n", "-L", "DOCKER-USER") == nil {
		return "DOCKER-USER"
	}
	if out, err := exec.Command("iptables", "-S", "FORWARD").Output(); err == nil &&
		strings.Contains(string(out), "-P FORWARD DROP") {
		return "FORWARD"
	}
	return ""
}

func iptables(args ...string) error {
	if out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
