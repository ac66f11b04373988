// Package chartrender renders Mastodon's official Helm charts with the
// values compose-scale export helm writes (its goldens in
// cmd/compose-scale/testdata), through the Helm SDK, and checks what the
// chart makes of them. It is a module of its own so that the CLI never
// links Helm and Kubernetes.
//
// The charts are not in this repository: bring a snapshot of each
// (github:mastodon/helm-charts, github:mastodon/chart) and point the test at
// it:
//
//	COMPOSE_SCALE_CHART_DIR=.../helm-charts/charts/mastodon \
//	COMPOSE_SCALE_LEGACY_CHART_DIR=.../chart go test ./...
//
// Each chart's test skips when its variable is unset.
package chartrender

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// exported is a values file's sidekiq workers, web and streaming, as
// compose-scale wrote them.
type exported struct {
	Mastodon struct {
		Web struct {
			Replicas   int
			Workers    string
			MaxThreads string `json:"maxThreads"`
			Resources  corev1.ResourceRequirements
		}
		Streaming struct {
			Replicas     int
			ExtraEnvVars map[string]string `json:"extraEnvVars"`
		}
		Sidekiq struct {
			Workers []struct {
				Name         string
				Replicas     int32
				Concurrency  int
				Queues       []string
				Resources    corev1.ResourceRequirements
				NodeSelector map[string]string `json:"nodeSelector"`
			}
		}
	}
}

// configMaps decodes every ConfigMap the chart rendered, by name.
func configMaps(t *testing.T, manifests map[string]string) map[string]corev1.ConfigMap {
	t.Helper()
	out := map[string]corev1.ConfigMap{}
	for name, text := range manifests {
		for _, doc := range strings.Split(text, "\n---") {
			if !strings.Contains(doc, "kind: ConfigMap") {
				continue
			}
			var c corev1.ConfigMap
			if err := yaml.UnmarshalStrict([]byte(doc), &c); err != nil {
				t.Fatalf("%s: not a valid ConfigMap: %v", name, err)
			}
			out[c.Name] = c
		}
	}
	return out
}

// checkThroughPooler: the pods connect to the pooler without prepared
// statements; migrations (the pre-deploy and migration jobs) go past it to
// the database.
func checkThroughPooler(t *testing.T, golden string, manifests map[string]string) {
	t.Helper()
	if !strings.HasSuffix(golden, "-pooler.values.yaml") {
		return
	}
	cms := configMaps(t, manifests)
	env, ok := cms["rel-mastodon-env"]
	if !ok {
		var names []string
		for n := range cms {
			names = append(names, n)
		}
		t.Fatalf("no rel-mastodon-env ConfigMap (have %v)", names)
	}
	if env.Data["CACHE_REDIS_HOST"] != "redis-cache-master" || env.Data["CACHE_REDIS_PORT"] != "6379" {
		t.Errorf("the cache: CACHE_REDIS_HOST %q, CACHE_REDIS_PORT %q; want redis-cache-master:6379", env.Data["CACHE_REDIS_HOST"], env.Data["CACHE_REDIS_PORT"])
	}
	if env.Data["DB_HOST"] != "pgbouncer" || env.Data["DB_PORT"] != "6432" || env.Data["PREPARED_STATEMENTS"] != "false" {
		t.Errorf("the pods connect to %s:%s, prepared statements %s; want pgbouncer:6432, false", env.Data["DB_HOST"], env.Data["DB_PORT"], env.Data["PREPARED_STATEMENTS"])
	}
	direct := false
	for name, text := range manifests {
		if (strings.Contains(name, "predeploy") || strings.Contains(name, "migrate")) && strings.Contains(text, "postgres-rw") {
			direct = true
		}
	}
	if !direct {
		t.Error("no migration job or pre-deploy ConfigMap names the database itself (postgres-rw)")
	}
}

// The pgbouncer chart with the pooler values the export wrote: transaction
// mode, no prepared statements, the limits per replica, the replicas.
func TestPgBouncerChart(t *testing.T) {
	dir := chartDir(t, "COMPOSE_SCALE_CHART_DIR")
	ch, err := loader.Load(filepath.Join(dir, "..", "pgbouncer"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "cmd", "compose-scale", "testdata", "export-helm-*-pooler.pgbouncer.yaml"))
	if len(files) == 0 {
		t.Fatal("no pooler goldens")
	}
	for _, g := range files {
		t.Run(filepath.Base(g), func(t *testing.T) {
			var want struct {
				ReplicaCount int32 `json:"replicaCount"`
				Settings     struct {
					ConnectionLimits struct {
						MaxClientConn, DefaultPoolSize, ReservePoolSize int
					} `json:"connectionLimits"`
				}
			}
			b, _ := os.ReadFile(g)
			if err := yaml.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			out := render(t, ch, readValues(t, g))
			deps := deployments(t, out)
			if len(deps) != 1 {
				t.Fatalf("%d Deployments", len(deps))
			}
			for _, d := range deps {
				if *d.Spec.Replicas != want.ReplicaCount {
					t.Errorf("replicas %d, want %d", *d.Spec.Replicas, want.ReplicaCount)
				}
			}
			var ini string
			for _, c := range configMaps(t, out) {
				ini += c.Data["pgbouncer.ini"]
			}
			cl := want.Settings.ConnectionLimits
			for _, line := range []string{"pool_mode = transaction", "max_prepared_statements = 0",
				fmt.Sprintf("max_client_conn = %d", cl.MaxClientConn), fmt.Sprintf("default_pool_size = %d", cl.DefaultPoolSize), fmt.Sprintf("reserve_pool_size = %d", cl.ReservePoolSize),
				"mastodon_production = host=postgres-rw port=5432"} {
				if !strings.Contains(ini, line) {
					t.Errorf("pgbouncer.ini lacks %q:\n%s", line, ini)
				}
			}
		})
	}
}

func goldens(t *testing.T, chartName string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "cmd", "compose-scale", "testdata", "export-helm-"+chartName+"-*.values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no export goldens for %s (%v)", chartName, err)
	}
	return files
}

// chartDir is the chart folder an environment variable names; the test
// skips without it.
func chartDir(t *testing.T, env string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		t.Skipf("%s is not set: bring the chart's snapshot and point %s at it", env, env)
	}
	return dir
}

// render renders ch with values files layered in order, as helm install
// -f a -f b does, and returns the rendered manifests by template.
func render(t *testing.T, ch *chart.Chart, layers ...map[string]any) map[string]string {
	t.Helper()
	vals := map[string]any{}
	for _, l := range layers {
		vals = chartutil.MergeTables(copyMap(l), vals)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "rel", Namespace: "mastodon", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("the chart does not render: %v", err)
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	b, _ := yaml.Marshal(m)
	var out map[string]any
	yaml.Unmarshal(b, &out)
	return out
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// deployments strict-decodes every Deployment the chart rendered, by name.
func deployments(t *testing.T, manifests map[string]string) map[string]appsv1.Deployment {
	t.Helper()
	out := map[string]appsv1.Deployment{}
	var names []string
	for name := range manifests {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, doc := range strings.Split(manifests[name], "\n---") {
			if !strings.Contains(doc, "kind: Deployment") {
				continue
			}
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
				t.Fatalf("%s: not a valid Deployment: %v\n%s", name, err, doc)
			}
			out[d.Name] = d
		}
	}
	return out
}

func env(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

// checkRendered checks the chart's Deployments against the values
// compose-scale wrote.
func checkRendered(t tb, golden string, deps map[string]appsv1.Deployment) {
	t.Helper()
	var ex exported
	b, _ := os.ReadFile(golden)
	if err := yaml.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	for _, w := range ex.Mastodon.Sidekiq.Workers {
		name := "rel-mastodon-sidekiq-" + w.Name
		d, ok := deps[name]
		if !ok {
			t.Errorf("%s: no Deployment %s (have %v)", golden, name, keys(deps))
			continue
		}
		if len(name) > 63 || len(d.Spec.Template.Labels["app.kubernetes.io/component"]) > 63 {
			t.Errorf("%s: a name or label over 63 bytes", name)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != w.Replicas {
			t.Errorf("%s: replicas %v, want %d", name, d.Spec.Replicas, w.Replicas)
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("%s: strategy %q, want Recreate (never two schedulers in a rollout)", name, d.Spec.Strategy.Type)
		}
		c := d.Spec.Template.Spec.Containers[0]
		want := []string{"bundle", "exec", "sidekiq", "-c", strconv.Itoa(w.Concurrency)}
		for _, q := range w.Queues {
			want = append(want, "-q", q)
		}
		if fmt.Sprint(c.Command) != fmt.Sprint(want) {
			t.Errorf("%s: command %q, want %q", name, c.Command, want)
		}
		if _, ok := env(c)["DB_POOL"]; ok {
			t.Errorf("%s: DB_POOL in a sidekiq container", name)
		}
		if !c.Resources.Requests.Memory().Equal(*w.Resources.Requests.Memory()) || !c.Resources.Limits.Memory().Equal(*w.Resources.Limits.Memory()) {
			t.Errorf("%s: resources %v, want %v", name, c.Resources, w.Resources)
		}
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
			t.Errorf("%s: no topologySpreadConstraints", name)
		} else if sel := d.Spec.Template.Spec.TopologySpreadConstraints[0].LabelSelector; sel == nil || !matches(sel.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("%s: the spread's selector %v does not select its own pods %v", name, sel, d.Spec.Template.Labels)
		}
	}
	web, ok := deps["rel-mastodon-web"]
	if !ok {
		t.Fatalf("no web Deployment (have %v)", keys(deps))
	}
	we := env(web.Spec.Template.Spec.Containers[0])
	if we["WEB_CONCURRENCY"] != ex.Mastodon.Web.Workers || we["MAX_THREADS"] != ex.Mastodon.Web.MaxThreads || *web.Spec.Replicas != int32(ex.Mastodon.Web.Replicas) {
		t.Errorf("web: WEB_CONCURRENCY %q MAX_THREADS %q replicas %d; want %q %q %d", we["WEB_CONCURRENCY"], we["MAX_THREADS"], *web.Spec.Replicas, ex.Mastodon.Web.Workers, ex.Mastodon.Web.MaxThreads, ex.Mastodon.Web.Replicas)
	}
	if sel := web.Spec.Template.Spec.TopologySpreadConstraints; len(sel) == 0 || !matches(sel[0].LabelSelector.MatchLabels, web.Spec.Template.Labels) {
		t.Errorf("web: the spread does not select its pods")
	}
	streaming, ok := deps["rel-mastodon-streaming"]
	if !ok {
		t.Fatalf("no streaming Deployment (have %v)", keys(deps))
	}
	if se := env(streaming.Spec.Template.Spec.Containers[0]); se["DB_POOL"] != ex.Mastodon.Streaming.ExtraEnvVars["DB_POOL"] || *streaming.Spec.Replicas != int32(ex.Mastodon.Streaming.Replicas) {
		t.Errorf("streaming: DB_POOL %q replicas %d; want %q %d", se["DB_POOL"], *streaming.Spec.Replicas, ex.Mastodon.Streaming.ExtraEnvVars["DB_POOL"], ex.Mastodon.Streaming.Replicas)
	}
}

func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]appsv1.Deployment) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The current chart (mastodon/helm-charts charts/mastodon), with its own
// CI values and each export golden layered over them.
func TestCurrentChart(t *testing.T) {
	dir := chartDir(t, "COMPOSE_SCALE_CHART_DIR")
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ci := readValues(t, filepath.Join(dir, "ci", "default-values.yaml"))
	// The release's own values hold the secrets compose-scale never
	// writes, the cache Redis's password among them.
	ci = chartutil.MergeTables(map[string]any{"redis": map[string]any{"cache": map[string]any{"password": "password"}}}, ci)
	t.Logf("chart %s %s (Mastodon %s)", ch.Metadata.Name, ch.Metadata.Version, ch.Metadata.AppVersion)
	for _, g := range goldens(t, "mastodon") {
		t.Run(filepath.Base(g), func(t *testing.T) {
			out := render(t, ch, ci, readValues(t, g))
			checkRendered(t, g, deployments(t, out))
			checkThroughPooler(t, g, out)
		})
	}
}

// The legacy chart (mastodon/chart): its bundled Bitnami Postgres, Redis
// and Elasticsearch off (their subcharts are not in the snapshot), an
// external database and Redis named, with its dev values.
func TestLegacyChart(t *testing.T) {
	dir := chartDir(t, "COMPOSE_SCALE_LEGACY_CHART_DIR")
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	dev := readValues(t, filepath.Join(dir, "dev-values.yaml"))
	external := map[string]any{}
	if err := yaml.Unmarshal([]byte(`
postgresql: {enabled: false, postgresqlHostname: db.example, auth: {password: secret}}
redis: {enabled: false, hostname: redis.example, auth: {password: secret}}
elasticsearch: {enabled: false}
`), &external); err != nil {
		t.Fatal(err)
	}
	t.Logf("chart %s %s (Mastodon %s)", ch.Metadata.Name, ch.Metadata.Version, ch.Metadata.AppVersion)
	for _, g := range goldens(t, "legacy") {
		t.Run(filepath.Base(g), func(t *testing.T) {
			out := render(t, ch, dev, external, readValues(t, g))
			checkRendered(t, g, deployments(t, out))
			checkThroughPooler(t, g, out)
		})
	}
}

// tb is what checkRendered needs of a test, so that a recorder can stand
// in for one in the test that it fails.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
}

// recorder is a tb that records a failure instead of failing.
type recorder struct{ failed bool }

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true }

// The check is not vacuous: a sidekiq Deployment whose command lists a
// queue the values do not have, or that lost its Recreate strategy, fails
// it.
func TestCheckCatchesWhatTheChartGotWrong(t *testing.T) {
	dir := chartDir(t, "COMPOSE_SCALE_CHART_DIR")
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := goldens(t, "mastodon")[0]
	ci := readValues(t, filepath.Join(dir, "ci", "default-values.yaml"))
	for _, breakIt := range []func(*appsv1.Deployment){
		func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Command = append(d.Spec.Template.Spec.Containers[0].Command, "-q", "extra")
		},
		func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType },
		func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "DB_POOL", Value: "25"})
		},
	} {
		deps := deployments(t, render(t, ch, ci, readValues(t, g)))
		for name, d := range deps {
			if strings.Contains(name, "sidekiq") {
				breakIt(&d)
				deps[name] = d
				break
			}
		}
		r := &recorder{}
		checkRendered(r, g, deps)
		if !r.failed {
			t.Error("a broken sidekiq Deployment passed the check")
		}
	}
}

// The CloudNativePG patches read as Kubernetes reads them (YAML 1.1, where
// a plain off is false): every parameter a string, resources valid.
func TestPostgresPatchesReadAsKubernetesReadsThem(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "cmd", "compose-scale", "testdata", "export-helm-*.postgres.yaml"))
	if len(files) == 0 {
		t.Fatal("no postgres patch goldens")
	}
	for _, g := range files {
		var patch struct {
			Spec struct {
				Postgresql struct {
					Parameters map[string]string `json:"parameters"`
				} `json:"postgresql"`
				Resources                 corev1.ResourceRequirements `json:"resources"`
				EphemeralVolumesSizeLimit map[string]string           `json:"ephemeralVolumesSizeLimit"`
			} `json:"spec"`
		}
		b, _ := os.ReadFile(g)
		if err := yaml.UnmarshalStrict(b, &patch); err != nil {
			t.Errorf("%s: %v", g, err)
			continue
		}
		if p := patch.Spec.Postgresql.Parameters; p["jit"] != "off" || p["max_connections"] == "" {
			t.Errorf("%s: parameters %v", g, p)
		}
		if patch.Spec.Resources.Requests.Memory().IsZero() {
			t.Errorf("%s: no memory request", g)
		}
	}
}

// What the charts let through, and compose-scale does not: both render a
// release with two schedulers (scheduler,1 with two replicas; scheduler in
// two workers) and one with none. check --helm-values refuses each
// (cmd/compose-scale's TestCheckHelmValues).
func TestChartsAcceptWrongSchedulers(t *testing.T) {
	for _, env := range []string{"COMPOSE_SCALE_CHART_DIR", "COMPOSE_SCALE_LEGACY_CHART_DIR"} {
		dir := chartDir(t, env)
		ch, err := loader.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		var base map[string]any
		if env == "COMPOSE_SCALE_CHART_DIR" {
			base = readValues(t, filepath.Join(dir, "ci", "default-values.yaml"))
		} else {
			base = readValues(t, filepath.Join(dir, "dev-values.yaml"))
			yaml.Unmarshal([]byte("postgresql: {enabled: false, postgresqlHostname: db, auth: {password: x}}\nredis: {enabled: false, hostname: r, auth: {password: x}}\nelasticsearch: {enabled: false}\n"), &base)
			base = chartutil.MergeTables(base, readValues(t, filepath.Join(dir, "dev-values.yaml")))
		}
		for name, workers := range map[string]string{
			"scheduler,1 with two replicas": `[{name: a, replicas: 2, concurrency: 5, queues: ["default", "scheduler,1"]}]`,
			"scheduler in two workers":      `[{name: a, replicas: 1, concurrency: 5, queues: [default, scheduler]}, {name: b, replicas: 1, concurrency: 5, queues: [push, scheduler]}]`,
			"no scheduler":                  `[{name: a, replicas: 1, concurrency: 5, queues: [default, push]}]`,
		} {
			var w []any
			if err := yaml.Unmarshal([]byte(workers), &w); err != nil {
				t.Fatal(err)
			}
			vals := map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": w}}}
			deps := deployments(t, render(t, ch, base, vals))
			n := 0
			for name := range deps {
				if strings.Contains(name, "sidekiq") {
					n++
				}
			}
			if n == 0 {
				t.Errorf("%s, %s: no sidekiq Deployment rendered", env, name)
			}
		}
	}
}
