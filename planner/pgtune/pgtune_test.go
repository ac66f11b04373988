package pgtune

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func settingsMap(s []Setting) map[string]string {
	m := map[string]string{}
	for _, x := range s {
		m[x.Name] = x.Value
	}
	return m
}

// Rows computed by hand from PGTune's formulas, one per edge case.
func TestTuneRows(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   TuneInput
		want map[string]string
	}{
		{"8GB 4 CPUs 200 conns PG16: huge_pages at exactly 2GB shared_buffers, wal_buffers capped",
			TuneInput{MemoryKB: 8 * kbGB, CPUs: 4, MaxConnections: 200, Major: 16},
			map[string]string{
				"max_connections": "200", "shared_buffers": "2GB", "effective_cache_size": "6GB", "maintenance_work_mem": "512MB",
				"checkpoint_completion_target": "0.9", "wal_buffers": "16MB", "default_statistics_target": "100",
				"random_page_cost": "1.1", "effective_io_concurrency": "200",
				"work_mem":   "10280kB", // 6291456 / ((200+4)*3) = 10280.16
				"huge_pages": "try", "min_wal_size": "2GB", "max_wal_size": "8GB",
				"max_worker_processes": "4", "max_parallel_workers_per_gather": "2", "max_parallel_workers": "4",
				"max_parallel_maintenance_workers": "2", "jit": "off", "wal_compression": "lz4",
			}},
		{"1GB 1 CPU 100 conns PG14: no parallel settings, work_mem floor 4MB, wal_compression on",
			TuneInput{MemoryKB: 1 * kbGB, CPUs: 1, MaxConnections: 100, Major: 14},
			map[string]string{
				"max_connections": "100", "shared_buffers": "256MB", "effective_cache_size": "768MB", "maintenance_work_mem": "64MB",
				"checkpoint_completion_target": "0.9", "wal_buffers": "7864kB", // 262144*3/100 = 7864.32
				"default_statistics_target": "100", "random_page_cost": "1.1", "effective_io_concurrency": "200",
				"work_mem":   "4MB", // 786432 / ((100+8)*3) = 2427 < 4096
				"huge_pages": "off", "min_wal_size": "2GB", "max_wal_size": "8GB", "jit": "off", "wal_compression": "on",
			}},
		{"64GB 8 CPUs 300 conns PG17: gather capped at 4, autovacuum_work_mem",
			TuneInput{MemoryKB: 64 * kbGB, CPUs: 8, MaxConnections: 300, Major: 17},
			map[string]string{
				"max_connections": "300", "shared_buffers": "16GB", "effective_cache_size": "48GB", "maintenance_work_mem": "4GB",
				"checkpoint_completion_target": "0.9", "wal_buffers": "16MB", "default_statistics_target": "100",
				"random_page_cost": "1.1", "effective_io_concurrency": "200",
				"work_mem":   "54471kB", // 50331648 / ((300+8)*3) = 54471.48
				"huge_pages": "try", "min_wal_size": "2GB", "max_wal_size": "8GB",
				"max_worker_processes": "8", "max_parallel_workers_per_gather": "4", "max_parallel_workers": "8",
				"max_parallel_maintenance_workers": "4", "jit": "off", "wal_compression": "lz4", "autovacuum_work_mem": "2GB",
			}},
		{"2000MB: wal_buffers 15MB rounds up to 16MB",
			TuneInput{MemoryKB: 2000 * kbMB, CPUs: 2, MaxConnections: 100, Major: 15, Type: Web},
			map[string]string{
				"max_connections": "100", "shared_buffers": "500MB", "effective_cache_size": "1500MB", "maintenance_work_mem": "125MB",
				"checkpoint_completion_target": "0.9", "wal_buffers": "16MB", "default_statistics_target": "100",
				"random_page_cost": "1.1", "effective_io_concurrency": "200",
				"work_mem":   "4740kB", // 1536000 / ((100+8)*3) = 4740.74
				"huge_pages": "off", "min_wal_size": "1GB", "max_wal_size": "4GB", "jit": "off", "wal_compression": "lz4",
			}},
		{"256GB 32 CPUs PG18: maintenance_work_mem capped at 8GB, autovacuum and io workers",
			TuneInput{MemoryKB: 256 * kbGB, CPUs: 32, MaxConnections: 250, Major: 18},
			map[string]string{
				"max_connections": "250", "shared_buffers": "64GB", "effective_cache_size": "192GB", "maintenance_work_mem": "8GB",
				"checkpoint_completion_target": "0.9", "wal_buffers": "16MB", "default_statistics_target": "100",
				"random_page_cost": "1.1", "effective_io_concurrency": "200",
				"work_mem":   "237974kB", // 201326592 / ((250+32)*3) = 237974.7
				"huge_pages": "try", "min_wal_size": "2GB", "max_wal_size": "8GB",
				"max_worker_processes": "32", "max_parallel_workers_per_gather": "4", "max_parallel_workers": "32",
				"max_parallel_maintenance_workers": "4", "jit": "off", "wal_compression": "lz4",
				"autovacuum_max_workers": "5", "autovacuum_work_mem": "2GB", "io_workers": "8",
			}},
		{"210MB (a 1GB droplet's share): page-unit settings rounded as Postgres rounds",
			TuneInput{MemoryKB: 215043, CPUs: 1, MaxConnections: 100, Major: 14},
			map[string]string{
				"max_connections":      "100",
				"shared_buffers":       "53760kB",  // 215043/4 = 53760.75 -> 53760: 6720 pages
				"effective_cache_size": "161280kB", // 161282 / 8 = 20160.25 -> 20160 pages
				"maintenance_work_mem": "13440kB", "checkpoint_completion_target": "0.9",
				"wal_buffers":               "1616kB", // 53760*3/100 = 1612 -> 201.5 pages -> 202 (half to even)
				"default_statistics_target": "100", "random_page_cost": "1.1", "effective_io_concurrency": "200",
				"work_mem": "4MB", "huge_pages": "off", "min_wal_size": "2GB", "max_wal_size": "8GB", "jit": "off", "wal_compression": "on",
			}},
		{"9.6 (Mastodon 3.x stock image): no parallel workers setting, no jit, no wal_compression",
			TuneInput{MemoryKB: 4 * kbGB, CPUs: 4, MaxConnections: 100, Major: 9},
			map[string]string{
				"max_connections": "100", "shared_buffers": "1GB", "effective_cache_size": "3GB", "maintenance_work_mem": "256MB",
				"checkpoint_completion_target": "0.9", "wal_buffers": "16MB", "default_statistics_target": "100",
				"random_page_cost": "1.1", "effective_io_concurrency": "200",
				"work_mem":   "10082kB", // 3145728 / ((100+4)*3) = 10082.46
				"huge_pages": "off", "min_wal_size": "2GB", "max_wal_size": "8GB",
				"max_worker_processes": "4", "max_parallel_workers_per_gather": "2",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, settingsMap(Tune(tc.in))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// pgtuneOracle is PGTune's selectors transcribed as they are written, in
// float64 with Math.floor, for a linux SSD middling-size database: an
// independent computation to hold Tune to, cell by cell.
func pgtuneOracle(ramKB float64, cpus, conns, major int, typ DBType) map[string]string {
	const MB, GB = 1024.0, 1024.0 * 1024.0
	out := map[string]string{}
	out["max_connections"] = fmt.Sprint(conns)
	sb := math.Floor(ramKB / 4)
	// Page-unit settings as Postgres holds them (see Tune): rint(kB/8)*8.
	page := func(kb float64) string { return FormatKB(int64(math.RoundToEven(kb/8)) * 8) }
	out["shared_buffers"] = page(sb)
	out["effective_cache_size"] = page(math.Floor(ramKB * 3 / 4))
	mwm := math.Floor(ramKB / 16)
	if mwm >= 8*GB {
		mwm = 8 * GB
	}
	out["maintenance_work_mem"] = FormatKB(int64(mwm))
	out["checkpoint_completion_target"] = "0.9"
	wal := math.Floor(3 * sb / 100)
	if wal > 16*MB {
		wal = 16 * MB
	}
	if wal > 14*MB && wal < 16*MB {
		wal = 16 * MB
	}
	if wal < 32 {
		wal = 32
	}
	out["wal_buffers"] = page(wal)
	out["default_statistics_target"] = "100"
	out["random_page_cost"] = "1.1"
	out["effective_io_concurrency"] = "200"
	pfw := 8.0
	if cpus >= 4 {
		pfw = float64(cpus)
		wpg := math.Ceil(float64(cpus) / 2)
		if wpg > 4 {
			wpg = 4
		}
		out["max_worker_processes"] = fmt.Sprint(cpus)
		out["max_parallel_workers_per_gather"] = fmt.Sprint(wpg)
		if major >= 10 {
			out["max_parallel_workers"] = fmt.Sprint(cpus)
		}
		if major >= 11 {
			out["max_parallel_maintenance_workers"] = fmt.Sprint(wpg)
		}
	}
	wm := math.Floor((ramKB - sb) / ((float64(conns) + pfw) * 3))
	if wm < 4*MB {
		wm = 4 * MB
	}
	out["work_mem"] = FormatKB(int64(wm))
	out["huge_pages"] = "off"
	if sb >= 2*GB {
		out["huge_pages"] = "try"
	}
	out["min_wal_size"], out["max_wal_size"] = "2GB", "8GB"
	if typ == Web {
		out["min_wal_size"], out["max_wal_size"] = "1GB", "4GB"
	}
	if major >= 12 {
		out["jit"] = "off"
	}
	if major >= 15 {
		out["wal_compression"] = "lz4"
	} else if major >= 10 {
		out["wal_compression"] = "on"
	}
	if cpus >= 32 {
		out["autovacuum_max_workers"] = "5"
	} else if cpus >= 16 {
		out["autovacuum_max_workers"] = "4"
	}
	if mwm >= 2*GB {
		out["autovacuum_work_mem"] = "2GB"
	}
	if major >= 18 {
		if n := math.Min(32, math.Max(3, math.Floor(float64(cpus)/4))); n > 3 {
			out["io_workers"] = fmt.Sprint(n)
		}
	}
	return out
}

func TestTuneGrid(t *testing.T) {
	cells := 0
	for _, ramGB := range []float64{0.205, 1, 1.5, 2, 3, 4, 6, 7.5, 8, 12, 16, 24, 32, 48, 64} {
		for cpus := 1; cpus <= 8; cpus++ {
			for conns := 100; conns <= 300; conns += 25 {
				for major := 14; major <= 17; major++ {
					for _, typ := range []DBType{OLTP, Web} {
						ram := int64(ramGB * 1024 * 1024)
						got := settingsMap(Tune(TuneInput{MemoryKB: ram, CPUs: cpus, MaxConnections: conns, Major: major, Type: typ}))
						want := pgtuneOracle(float64(ram), cpus, conns, major, typ)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Fatalf("%vGB %d CPUs %d conns PG%d %s (-pgtune +ours):\n%s", ramGB, cpus, conns, major, typ, diff)
						}
						cells++
					}
				}
			}
		}
	}
	t.Logf("%d cells match PGTune's formulas", cells)
}

func TestFormatKB(t *testing.T) {
	for kb, want := range map[int64]string{
		1048576: "1GB", 2097152: "2GB", 1024: "1MB", 1536: "1536kB", 7864: "7864kB", 16384: "16MB", 1572864: "1536MB", 32: "32kB",
	} {
		if got := FormatKB(kb); got != want {
			t.Errorf("FormatKB(%d) = %s, want %s", kb, got, want)
		}
	}
}

// Every setting Tune can write is in the version table, and none is
// written for a server older than the table allows.
func TestSettingSince(t *testing.T) {
	for name := range TunedSettings {
		if _, ok := SettingSince[name]; !ok {
			t.Errorf("%s has no entry in SettingSince", name)
		}
	}
	for major := 9; major <= NewestPostgres; major++ {
		for _, cpus := range []int{1, 4, 16, 32} {
			for _, s := range Tune(TuneInput{MemoryKB: 256 * kbGB, CPUs: cpus, MaxConnections: 200, Major: major}) {
				if major < SettingSince[s.Name] {
					t.Errorf("PG %d: %s written, but it exists from %d", major, s.Name, SettingSince[s.Name])
				}
				if !TunedSettings[s.Name] {
					t.Errorf("%s written but not in TunedSettings: a resize would never remove it", s.Name)
				}
			}
		}
	}
}

// Memory past what Postgres holds is tuned at its limits.
func TestPostgresMemoryBounds(t *testing.T) {
	s := Tune(TuneInput{MemoryKB: 64 << 30, CPUs: 8, MaxConnections: 100, Major: 16}) // 64 TB
	for _, st := range s {
		switch st.Name {
		case "shared_buffers":
			if st.Value != FormatKB(pages(maxSharedBuffersKB)) {
				t.Errorf("shared_buffers=%s, above what Postgres holds", st.Value)
			}
		case "effective_cache_size":
			if st.Value != FormatKB(pages(maxCacheSizeKB)) {
				t.Errorf("effective_cache_size=%s", st.Value)
			}
		}
	}
}
