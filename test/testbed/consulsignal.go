package testbed

import "syscall"

// Signal sends sig to the agent, e.g. SIGSTOP to hang it and SIGCONT to let it go on.
// A test that stops it must continue it in a cleanup registered after StartConsul,
// so that it runs before the agent is stopped.
func (c *Consul) Signal(sig syscall.Signal) { c.proc.Signal(sig) }
