package planner

import (
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
)

// PostgresMajorFromImage reads the major version from a postgres image tag:
// postgres:14-alpine is 14, postgres:9.6-alpine is 9 (9.6 is its own major,
// but every 9.x predates the settings the tuner cares about).
func PostgresMajorFromImage(image string) (int, bool) {
	ref, ok := mastodon.ExpandDefaults(image)
	if !ok {
		return 0, false
	}
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon <= slash {
		return 0, false
	}
	tag := ref[colon+1:]
	end := 0
	for end < len(tag) && tag[end] >= '0' && tag[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(tag[:end])
	if err != nil {
		return 0, false
	}
	return n, true
}
