//go:build unix

package main

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on a directory (flock on the
// directory itself, so no lock file is left behind), waiting for another
// compose-scale that holds it.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
