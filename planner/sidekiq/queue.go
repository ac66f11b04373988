package sidekiq

import (
	"fmt"
	"strings"
)

// Queue is a Sidekiq queue as a process listens on it: its name and, in a
// weighted process (-q name,weight), its weight; 0 where none is given.
type Queue struct {
	Name   string
	Weight int
}

// QueueNames are the queues' names, in order.
func QueueNames(qs []Queue) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.Name
	}
	return out
}

// Spec is the queues as -q takes them, space-separated: "default,8 push".
func Spec(qs []Queue) string {
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = q.Name
		if q.Weight > 0 {
			parts[i] += fmt.Sprintf(",%d", q.Weight)
		}
	}
	return strings.Join(parts, " ")
}
