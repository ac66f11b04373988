package main

import (
	"fmt"
	"os/exec"
)

// cores says where a run's processes ran, which the results must say: a
// plan for P CPUs measured on a machine with more has its Sidekiq
// processes pinned to P cores (taskset) and Postgres, Redis and the load
// generator on the others; on a machine with P cores or fewer everything
// shares them, and a plan for more CPUs than the machine has shows what
// oversubscription does, not a drain time.
type cores struct {
	PlanCPUs    int    `json:"plan_cpus"`
	MachineCPUs int    `json:"machine_cpus"`
	Pinned      bool   `json:"pinned"`
	Sidekiq     string `json:"sidekiq_cores,omitempty"` // taskset's list, when pinned
	Note        string `json:"note"`
}

func coresFor(planCPUs, machineCPUs int, haveTaskset bool) cores {
	c := cores{PlanCPUs: planCPUs, MachineCPUs: machineCPUs}
	switch {
	case machineCPUs > planCPUs && haveTaskset:
		c.Pinned, c.Sidekiq = true, fmt.Sprintf("0-%d", planCPUs-1)
		c.Note = fmt.Sprintf("Sidekiq pinned to cores %s, the plan's %d CPUs; Postgres, Redis and the load generator on the other %d", c.Sidekiq, planCPUs, machineCPUs-planCPUs)
	case machineCPUs > planCPUs:
		c.Note = fmt.Sprintf("the machine has %d cores for a plan of %d, and no taskset to pin Sidekiq to %d of them: everything shares them", machineCPUs, planCPUs, planCPUs)
	case machineCPUs == planCPUs:
		c.Note = fmt.Sprintf("Sidekiq, Postgres, Redis and the load generator share the plan's %d cores", planCPUs)
	default:
		c.Note = fmt.Sprintf("oversubscribed: a plan for %d CPUs on %d cores, shared with Postgres, Redis and the load generator; this run shows what oversubscription does, not a drain time", planCPUs, machineCPUs)
	}
	return c
}

// sidekiqCommand runs sidekiq with args, pinned when c says so.
func (c cores) sidekiqCommand(args []string) *exec.Cmd {
	if c.Pinned {
		return exec.Command("taskset", append([]string{"-c", c.Sidekiq, "sidekiq"}, args...)...)
	}
	return exec.Command("sidekiq", args...)
}
