package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// readLimited reads at most maxFileSize bytes of path, whatever it is (a
// FIFO or /dev/zero has no size to check first): more is an error, not
// memory that grows until the machine runs out.
func readLimited(display, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s: more than %d MB, too big for a compose or env file (the limit is %d MB)", display, maxFileSize>>20, maxFileSize>>20)
	}
	return b, nil
}

// target is what a path names for writing: a symlink's final target (a
// link kept elsewhere stays a link), and whether that is a regular file
// (or does not exist yet) to replace atomically, or something to write
// through as it is: a FIFO, /dev/stdout, /dev/null.
func target(path string) (real string, regular bool, err error) {
	real, err = filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Nothing there yet, or a link to a file still to be made: the
		// link's own target.
		real = path
		for i := 0; i < 40; i++ {
			st, err := os.Lstat(real)
			if err != nil || st.Mode()&fs.ModeSymlink == 0 {
				break
			}
			to, err := os.Readlink(real)
			if err != nil {
				break
			}
			if !filepath.IsAbs(to) {
				to = filepath.Join(filepath.Dir(real), to)
			}
			real = to
		}
		return real, true, nil
	}
	if err != nil {
		return "", false, err
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", false, err
	}
	if st.IsDir() {
		return "", false, fmt.Errorf("is a directory")
	}
	return real, st.Mode().IsRegular(), nil
}

// writeThrough writes data to what path names: a regular file (or a new
// one) is replaced atomically where it really is, its mode and owner kept
// (a new file takes mode and the owner of ownerOf); anything else (a
// FIFO, a terminal, /dev/null) is opened and written as it is, never
// replaced.
func writeThrough(display, path string, data []byte, mode fs.FileMode, ownerOf string) error {
	real, regular, err := target(path)
	if err != nil {
		return fmt.Errorf("%s: %v", display, unwrapPath(err))
	}
	if !regular {
		f, err := os.OpenFile(real, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%s: cannot open it for writing: %v", display, unwrapPath(err))
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: write failed: %v", display, unwrapPath(err))
		}
		return nil
	}
	if st, err := os.Stat(real); err == nil {
		mode, ownerOf = st.Mode().Perm(), real
	}
	return writeAtomic(display, real, data, mode, ownerOf)
}
