//go:build unix

package main

import (
	"os"
	"syscall"
)

// keepOwner gives the temp file the original's owner and group (possible
// when running as root, as admins do on a droplet); failure is harmless.
func keepOwner(orig, tmp string) {
	st, err := os.Stat(orig)
	if err != nil {
		return
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		_ = os.Chown(tmp, int(s.Uid), int(s.Gid))
	}
}
