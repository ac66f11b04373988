package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
)

// maxFileSize bounds what is read: a compose file is kilobytes; anything
// near this is not one.
const maxFileSize = 10 << 20

// composeNames are the files docker compose looks for, in its order.
var composeNames = []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

// findComposeFile returns the file to work on, as the user named it (for
// messages) and as a path to open: the argument, else COMPOSE_FILE, else
// the first of composeNames in the working directory. Like docker compose,
// a discovered file brings the override file beside it, and COMPOSE_FILE
// naming two files makes the second the override: override is "" when
// there is none.
func findComposeFile(arg string, env Env) (display, path, override string, err error) {
	if arg != "" {
		return arg, resolve(env.Dir, arg), "", nil
	}
	if cf := env.Getenv("COMPOSE_FILE"); cf != "" {
		sep := env.Getenv("COMPOSE_PATH_SEPARATOR")
		if sep == "" {
			sep = string(os.PathListSeparator)
		}
		parts := strings.Split(cf, sep)
		if len(parts) > 2 {
			return "", "", "", fmt.Errorf("COMPOSE_FILE names %d files: compose-scale reads a file and at most one override; name the file to rewrite", len(parts))
		}
		if len(parts) == 2 {
			override = parts[1]
		}
		return parts[0], resolve(env.Dir, parts[0]), override, nil
	}
	for _, n := range composeNames {
		if _, err := os.Stat(resolve(env.Dir, n)); err == nil {
			for _, o := range compose.OverrideNames[n] {
				if _, err := os.Stat(resolve(env.Dir, o)); err == nil {
					override = o
					break
				}
			}
			return n, resolve(env.Dir, n), override, nil
		}
	}
	return "", "", "", fmt.Errorf("no compose file here (looked for %s in %s): name the file, as in compose-scale rewrite docker-compose.yml", strings.Join(composeNames, ", "), absOr(env.Dir))
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" || dir == "." {
		return p
	}
	return filepath.Join(dir, p)
}

func absOr(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// readComposeFile reads a compose file with the checks a person needs
// spelled out: missing, a directory, too big. Messages name the file as
// display.
func readComposeFile(display, path string) ([]byte, fs.FileMode, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, fmt.Errorf("%s: no such file", display)
	case err != nil:
		return nil, 0, fmt.Errorf("%s: %v", display, unwrapPath(err))
	case st.IsDir():
		return nil, 0, fmt.Errorf("%s: is a directory: name the compose file inside it", display)
	case st.Size() > maxFileSize:
		return nil, 0, fmt.Errorf("%s: %d MB is too big for a compose file (the limit is %d MB)", display, st.Size()>>20, maxFileSize>>20)
	}
	b, err := readLimited(display, path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %v", display, unwrapPath(err))
	}
	return b, st.Mode().Perm(), nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// writeAtomic replaces path with data: a temp file in the same directory,
// synced, then renamed over it, so a reader (or a crash) sees the old file
// or the new one, never half of one. The mode is kept.
func writeAtomic(display, path string, data []byte, mode fs.FileMode, ownerOf string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".compose-scale-*")
	if err != nil {
		return fmt.Errorf("%s: cannot write in its directory (%v): nothing was written", display, unwrapPath(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		keepOwner(ownerOf, tmp)
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("%s: write failed, the file is unchanged: %v", display, unwrapPath(err))
	}
	return nil
}

// keepOrig saves the untouched original as path.orig the first time, and
// never overwrites one that exists; it takes the file's mode and owner.
func keepOrig(display, path string, original []byte, mode fs.FileMode) (string, error) {
	orig := path + ".orig"
	f, err := os.OpenFile(orig, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err == nil {
		keepOwner(path, orig)
	}
	if errors.Is(err, fs.ErrExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s.orig: cannot keep the original (%v): nothing was written", display, unwrapPath(err))
	}
	if _, err = f.Write(original); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(orig)
		return "", fmt.Errorf("%s.orig: cannot keep the original (%v): nothing was written", display, err)
	}
	return display + ".orig", nil
}
