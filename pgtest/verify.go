package pgtest

import (
	"fmt"
	"strings"
)

// Setting is one -c name=value of a db command.
type Setting struct{ Name, Value string }

// Settings reads the -c flags of a postgres command (tokens after the
// executable), as the server will: "-c name=value" and "-cname=value".
func Settings(args []string) ([]Setting, error) {
	var out []Setting
	for i := 0; i < len(args); i++ {
		a := args[i]
		var kv string
		switch {
		case a == "-c" && i+1 < len(args):
			kv = args[i+1]
			i++
		case strings.HasPrefix(a, "-c") && len(a) > 2:
			kv = a[2:]
		case strings.HasPrefix(a, "--") && strings.Contains(a, "="):
			kv = a[2:]
		default:
			return nil, fmt.Errorf("argument %q is not a -c setting", a)
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("-c %q is not name=value", kv)
		}
		out = append(out, Setting{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	return out, nil
}

// Verify starts the cluster's server with args and checks that every
// setting took the value written, as SHOW prints it. It returns one line per
// problem: a server that will not start, a setting it does not know, a
// value it holds differently.
func Verify(c *Cluster, args []string) []string {
	settings, err := Settings(args)
	if err != nil {
		return []string{err.Error()}
	}
	s, err := c.Start(args)
	for err != nil && strings.Contains(err.Error(), "shared memory") {
		// The test machine cannot map this much: halve shared_buffers
		// and say so, rather than skip the setting.
		var lowered bool
		args, settings, lowered = halveSharedBuffers(args, settings)
		if !lowered {
			break
		}
		if c.Logf != nil {
			c.Logf("this machine cannot allocate the planned shared_buffers: retrying with shared_buffers=%s (every other setting as written)", value(settings, "shared_buffers"))
		}
		s, err = c.Start(args)
	}
	if err != nil {
		return []string{err.Error()}
	}
	defer s.Stop()
	var names []string
	for _, st := range settings {
		names = append(names, st.Name)
	}
	got, unknown, err := s.Show(names)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, n := range unknown {
		problems = append(problems, fmt.Sprintf("%s: the server does not know this setting", n))
	}
	for _, st := range settings {
		if v, ok := got[st.Name]; ok && v != st.Value {
			problems = append(problems, fmt.Sprintf("%s: written %q, the server holds %q", st.Name, st.Value, v))
		}
	}
	return problems
}

func value(settings []Setting, name string) string {
	for _, s := range settings {
		if s.Name == name {
			return s.Value
		}
	}
	return ""
}

// halveSharedBuffers rewrites the shared_buffers flag to half its value
// (in MB, at least 128MB).
func halveSharedBuffers(args []string, settings []Setting) ([]string, []Setting, bool) {
	v := value(settings, "shared_buffers")
	mb := 0
	switch {
	case strings.HasSuffix(v, "GB"):
		fmt.Sscanf(v, "%dGB", &mb)
		mb *= 1024
	case strings.HasSuffix(v, "MB"):
		fmt.Sscanf(v, "%dMB", &mb)
	}
	if mb <= 128 {
		return args, settings, false
	}
	nv := fmt.Sprintf("%dMB", mb/2)
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == "shared_buffers="+v {
			out[i] = "shared_buffers=" + nv
		}
	}
	ns := append([]Setting(nil), settings...)
	for i := range ns {
		if ns[i].Name == "shared_buffers" {
			ns[i].Value = nv
		}
	}
	return out, ns, true
}
