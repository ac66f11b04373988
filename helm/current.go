package helm

import (
	"fmt"

	"github.com/compose-scale/compose-scale/planner"
	"go.yaml.in/yaml/v4"
)

// Release is what a release's values (helm get values REL) tell the
// export: the image tag the pods run, what its workers carry that the
// export must write again, and the settings that conflict with the plan.
type Release struct {
	ImageTag string
	// DBHost and DBName are the database the release connects to
	// (postgresql.hostname and .database; the legacy chart's
	// postgresql.postgresqlHostname and .auth.database).
	DBHost, DBName string
	// CacheHost is redis.cache.hostname, when the release has a cache
	// Redis of its own.
	CacheHost string
	// CacheAuth: the values give the cache Redis a password or an
	// existing secret, which the current chart requires once
	// redis.cache is enabled.
	CacheAuth bool
	Kept      Kept
	Warnings  []string
}

// ReadValues reads a release's values file.
func ReadValues(path string, text []byte) (Release, error) {
	var cur Release
	var v map[string]any
	if err := yaml.Unmarshal(text, &v); err != nil {
		return cur, fmt.Errorf("%s: not a values file: %v", path, err)
	}
	if tag, ok := dig(v, "image", "tag").(string); ok {
		cur.ImageTag = tag
	}
	for _, at := range [][]string{{"postgresql", "hostname"}, {"postgresql", "postgresqlHostname"}} {
		if h, ok := dig(v, at...).(string); ok && h != "" {
			cur.DBHost = h
		}
	}
	if h, ok := dig(v, "redis", "cache", "hostname").(string); ok && h != "" {
		cur.CacheHost = h
	}
	for _, at := range [][]string{{"redis", "cache", "password"}, {"redis", "cache", "existingSecret"}, {"redis", "cache", "auth", "password"}, {"redis", "cache", "auth", "existingSecret"}} {
		if s, ok := dig(v, at...).(string); ok && s != "" {
			cur.CacheAuth = true
		}
	}
	for _, at := range [][]string{{"postgresql", "database"}, {"postgresql", "auth", "database"}} {
		if d, ok := dig(v, at...).(string); ok && d != "" {
			cur.DBName = d
		}
	}
	for _, at := range [][]string{{"mastodon", "sidekiq", "extraEnvVars"}, {"mastodon", "extraEnvVars"}} {
		if env, ok := dig(v, at...).(map[string]any); ok {
			if _, set := env["DB_POOL"]; set {
				cur.Warnings = append(cur.Warnings, fmt.Sprintf("%s sets DB_POOL in %s, which every sidekiq worker gets: remove it (each worker's pool is its concurrency)", path, joinKeys(at)))
			}
		}
	}
	// Helm merges maps and replaces lists: web's and streaming's own
	// settings survive the layering, except the one list written there.
	for _, at := range [][]string{{"mastodon", "web", "topologySpreadConstraints"}, {"mastodon", "streaming", "topologySpreadConstraints"}} {
		if l, ok := dig(v, at...).([]any); ok && len(l) > 0 {
			cur.Warnings = append(cur.Warnings, fmt.Sprintf("%s sets %s, which the export's spread replaces (Helm replaces a list whole): merge yours into it by hand if you need both", path, joinKeys(at)))
		}
	}
	workers, _ := dig(v, "mastodon", "sidekiq", "workers").([]any)
	cur.Kept.ByName = map[string]map[string]any{}
	var first map[string]any
	same := true
	for i, w := range workers {
		m, ok := w.(map[string]any)
		if !ok {
			continue
		}
		carried := map[string]any{}
		for _, k := range workerKeys {
			if val, ok := m[k]; ok && !empty(val) {
				carried[k] = val
			}
		}
		if name, ok := m["name"].(string); ok {
			cur.Kept.ByName[name] = carried
		}
		if i == 0 {
			first = carried
		} else if fmt.Sprint(first) != fmt.Sprint(carried) {
			same = false
		}
	}
	if same && len(first) > 0 {
		cur.Kept.All = first
	}
	return cur, nil
}

// PodVersion is the Mastodon the pods will run: the version given, else
// the release's image.tag, else the chart's own appVersion; and where
// that came from. A version the chart is not made for is a warning.
func PodVersion(chart Chart, given *planner.Version, imageTag string) (planner.Version, string, []string) {
	var warnings []string
	v, source := planner.Version{}, ""
	switch {
	case given != nil:
		v, source = *given, "--mastodon-version"
	case imageTag != "":
		if parsed, err := planner.ParseVersion(imageTag); err == nil {
			v, source = parsed, "the release's image.tag "+imageTag
			break
		}
		fallthrough
	default:
		v, _ = planner.ParseVersion(AppVersion[chart])
		source = fmt.Sprintf("the %s chart's own %s, as image.tag is not set", chart, AppVersion[chart])
	}
	if chart == Current && !v.Unknown && !v.AtLeast(4, 4) {
		warnings = append(warnings, fmt.Sprintf("the mastodon chart (mastodon/helm-charts) is made for Mastodon 4.4 and later; the pods would run %s", v))
	}
	return v, source, warnings
}

func dig(v map[string]any, path ...string) any {
	var cur any = v
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func joinKeys(path []string) string {
	out := ""
	for i, p := range path {
		if i > 0 {
			out += "."
		}
		out += p
	}
	return out
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case string:
		return x == ""
	}
	return false
}
