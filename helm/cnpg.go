package helm

import (
	"fmt"
	"strconv"

	"github.com/compose-scale/compose-scale/planner"
)

// PostgresPatch renders the plan's Postgres for its database node as a
// merge patch of a CloudNativePG Cluster (the operator the chart's README
// recommends): spec.postgresql.parameters with PGTune's settings, the
// pod's resources (requests equal to limits: Guaranteed, so the node never
// evicts the database first) and /dev/shm sized for parallel queries.
// None of the settings is one CloudNativePG keeps for itself (port,
// wal_level, listen_addresses...).
func PostgresPatch(cp *planner.ClusterPlan, header []string) ([]byte, error) {
	pg := cp.Postgres
	if pg == nil || len(pg.Settings) == 0 || cp.Cluster.DB == nil {
		return nil, fmt.Errorf("no database node: a managed database is tuned by its provider (give --db-node to tune one of your own)")
	}
	params := newMap()
	for _, s := range pg.Settings {
		params.set(s.Name, s.Value)
	}
	mem := mebibytes(pg.MemoryBytes)
	cpu := strconv.Itoa(pg.CPUs)
	spec := newMap().
		set("postgresql", newMap().set("parameters", params)).
		set("resources", newMap().
			set("requests", newMap().set("cpu", cpu).set("memory", mem)).
			set("limits", newMap().set("cpu", cpu).set("memory", mem)))
	if pg.ShmSizeBytes > 0 {
		spec.set("ephemeralVolumesSizeLimit", newMap().set("shm", mebibytes(pg.ShmSizeBytes)))
	}
	return encode(newMap().set("spec", spec), header)
}
