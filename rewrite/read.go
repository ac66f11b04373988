package rewrite

import (
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// ReadServices is the read stage alone, for commands that plan nothing
// (observe): the files' services merged as docker compose merges them,
// and the facts the planner takes from them.
func ReadServices(f Files) ([]compose.Service, []planner.Service, error) {
	list, err := parseServices(f.Base)
	if err != nil {
		return nil, nil, err
	}
	if f.Override != nil {
		over, err := parseServices(*f.Override)
		if err != nil {
			return nil, nil, err
		}
		list = compose.Merge(list, over)
	}
	return list, PlannerServices(list, f.Vars, f.ReadEnvFile), nil
}

func parseServices(f compose.File) ([]compose.Service, error) {
	doc, err := compose.Parse(f.Path, f.Text)
	if err != nil {
		return nil, err
	}
	return doc.Services()
}

// SidekiqBuildContexts are the local build contexts of the file's
// Sidekiq services, where a source checkout's lib/mastodon/version.rb
// says which Mastodon the image is built from. A file that does not
// parse has none (the rewrite reports why).
func SidekiqBuildContexts(f compose.File) []string {
	services, err := parseServices(f)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range services {
		if s.BuildContext != "" && planner.IsSidekiq(s.Command) && !strings.Contains(s.BuildContext, "://") {
			out = append(out, s.BuildContext)
		}
	}
	return out
}
