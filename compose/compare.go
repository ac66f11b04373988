package compose

import (
	"fmt"
	"sort"
	"strings"
)

// Differences lists, one line each, how the services of b differ from those
// of a in meaning: services added or removed, commands, environment entries
// and shm_size changed.
func Differences(a, b []Service) []string {
	byName := func(ss []Service) map[string]Service {
		m := map[string]Service{}
		for _, s := range ss {
			m[s.Name] = s
		}
		return m
	}
	am, bm := byName(a), byName(b)
	var out []string
	for _, s := range a {
		if _, ok := bm[s.Name]; !ok {
			out = append(out, fmt.Sprintf("service %s: would be removed", s.Name))
		}
	}
	for _, t := range b {
		s, ok := am[t.Name]
		if !ok {
			cmd := strings.Join(t.Command, " ")
			if first, _, multi := strings.Cut(cmd, "\n"); multi {
				cmd = first + " ..." // a script: its first line says what it is
			}
			out = append(out, fmt.Sprintf("service %s: missing (command: %s)", t.Name, cmd))
			continue
		}
		if strings.Join(s.Command, "\x00") != strings.Join(t.Command, "\x00") {
			gone, added := tokenChanges(s.Command, t.Command)
			switch {
			case len(s.Command) == 0:
				out = append(out, fmt.Sprintf("service %s: no command, planned %q", t.Name, strings.Join(t.Command, " ")))
			case len(gone) == 0 && len(added) == 0:
				out = append(out, fmt.Sprintf("service %s: command arguments in another order, planned %q", t.Name, strings.Join(t.Command, " ")))
			default:
				out = append(out, fmt.Sprintf("service %s: command has %q, planned %q", t.Name, strings.Join(gone, " "), strings.Join(added, " ")))
			}
		}
		keys := map[string]bool{}
		for k := range s.Env {
			keys[k] = true
		}
		for k := range t.Env {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			was, had := s.Env[k]
			now, has := t.Env[k]
			switch {
			case !had && has:
				out = append(out, fmt.Sprintf("service %s: %s unset, planned %s", t.Name, k, now))
			case had && !has:
				out = append(out, fmt.Sprintf("service %s: %s=%s, planned unset", t.Name, k, was))
			case was != now:
				out = append(out, fmt.Sprintf("service %s: %s=%s, planned %s", t.Name, k, was, now))
			}
		}
		if s.ShmSize != t.ShmSize {
			out = append(out, fmt.Sprintf("service %s: shm_size %d bytes, planned %d", t.Name, s.ShmSize, t.ShmSize))
		}
	}
	return out
}

// tokenChanges returns the arguments only a has and only b has, each in
// its own order (a multiset difference: repeated flags count).
func tokenChanges(a, b []string) (gone, added []string) {
	count := map[string]int{}
	for _, t := range b {
		count[t]++
	}
	for _, t := range a {
		if count[t] > 0 {
			count[t]--
		} else {
			gone = append(gone, t)
		}
	}
	count = map[string]int{}
	for _, t := range a {
		count[t]++
	}
	for _, t := range b {
		if count[t] > 0 {
			count[t]--
		} else {
			added = append(added, t)
		}
	}
	return gone, added
}
