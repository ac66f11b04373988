// Package rewrite is the one-way pipeline behind every command: compose
// (read), planner (decide), compose (apply), compose-go (validate). It does
// no file I/O of its own: the caller reads and writes.
package rewrite

import (
	"errors"
	"fmt"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// Result is a planned rewrite.
type Result struct {
	Plan   *planner.Plan
	Input  []byte
	Output []byte
}

// Changed reports whether the rewrite changes the file.
func (r *Result) Changed() bool { return string(r.Input) != string(r.Output) }

// Rewrite plans the compose file text src (named path in messages) for the
// input's machine and options, and returns the rewritten text. in.Services
// is filled from the file.
func Rewrite(path string, src []byte, in planner.Input) (*Result, error) {
	if err := compose.Validate(path, src); err != nil {
		return nil, err
	}
	doc, err := compose.Parse(path, src)
	if err != nil {
		return nil, err
	}
	services, err := doc.Services()
	if err != nil {
		return nil, err
	}
	in.Services = nil
	for _, s := range services {
		ps := planner.Service{Name: s.Name, Image: s.Image, Build: s.Build, Command: s.Command, Env: s.Env, ShmSizeBytes: s.ShmSize, Replicas: s.Replicas}
		for _, p := range s.Ports {
			ps.Ports = append(ps.Ports, planner.Port(p))
		}
		in.Services = append(in.Services, ps)
	}
	plan, err := planner.Make(in)
	if err != nil {
		return nil, placeError(doc, path, err)
	}
	if err := applyAll(doc, plan.Changes); err != nil {
		return nil, err
	}
	out := doc.Bytes()
	if err := compose.Validate(path, out); err != nil {
		return nil, fmt.Errorf("internal error: the rewritten file would not load (%v); nothing was written, please report this with your compose file", err)
	}
	return &Result{Plan: plan, Input: src, Output: out}, nil
}

// applyAll makes the plan's changes. Edits to one service are held and
// made together (compose.EditService), which costs one full re-parse of
// the file instead of one per edit; a clone takes its own edits with it.
// Held edits are made before any change that reads or moves their service,
// so the result is the same as making the changes one by one.
func applyAll(doc *compose.Document, changes []planner.Change) error {
	pending := map[string][]planner.Change{}
	var order []string
	flush := func(name string) error {
		cs := pending[name]
		if len(cs) == 0 {
			return nil
		}
		delete(pending, name)
		return doc.EditService(name, func(sd *compose.Document) error { return applyEach(sd, cs) })
	}
	taken := make([]bool, len(changes))
	for i, c := range changes {
		if taken[i] {
			continue
		}
		switch c.Kind {
		case planner.Rename:
			if err := flush(c.Service); err != nil {
				return err
			}
			if err := doc.RenameService(c.Service, c.To); err != nil {
				return err
			}
		case planner.Remove:
			delete(pending, c.Service)
			if err := doc.RemoveService(c.Service); err != nil {
				return err
			}
		case planner.Clone:
			if err := flush(c.Service); err != nil {
				return err
			}
			// A run of clones of one service, each placed after the one
			// before, goes in as one insertion, each with its own edits.
			run := []planner.Change{c}
			for j := i + 1; j < len(changes) && changes[j].Kind == planner.Clone && changes[j].Service == c.Service && changes[j].After == run[len(run)-1].To; j++ {
				run = append(run, changes[j])
				taken[j] = true
			}
			var names []string
			var fns []func(*compose.Document) error
			for _, cl := range run {
				own := ownEdits(changes, i+len(run), cl.To, taken)
				names = append(names, cl.To)
				fns = append(fns, func(sd *compose.Document) error { return applyEach(sd, own) })
			}
			if err := doc.CloneServicesWith(c.Service, names, c.After, fns); err != nil {
				return err
			}
		default:
			if _, held := pending[c.Service]; !held {
				order = append(order, c.Service)
			}
			pending[c.Service] = append(pending[c.Service], c)
		}
	}
	for _, name := range order {
		if err := flush(name); err != nil {
			return err
		}
	}
	return nil
}

// ownEdits takes the edits to a new service from changes[from:], up to any
// change that moves it or places something after it.
func ownEdits(changes []planner.Change, from int, name string, taken []bool) []planner.Change {
	var own []planner.Change
	for j := from; j < len(changes); j++ {
		d := changes[j]
		if d.Service == name && (d.Kind == planner.Rename || d.Kind == planner.Remove || d.Kind == planner.Clone) || d.Kind == planner.Clone && d.After == name {
			break
		}
		if d.Service == name && !taken[j] {
			own = append(own, d)
			taken[j] = true
		}
	}
	return own
}

func applyEach(doc *compose.Document, changes []planner.Change) error {
	for _, c := range changes {
		if err := apply(doc, c); err != nil {
			return err
		}
	}
	return nil
}

func apply(doc *compose.Document, c planner.Change) error {
	switch c.Kind {
	case planner.Rename:
		return doc.RenameService(c.Service, c.To)
	case planner.Clone:
		return doc.CloneService(c.Service, c.To, c.After)
	case planner.Remove:
		return doc.RemoveService(c.Service)
	case planner.SetCommand:
		return doc.SetCommand(c.Service, c.Command)
	case planner.SetEnv:
		return doc.SetEnv(c.Service, c.Key, c.Value)
	case planner.SetField:
		return doc.SetKey(c.Service, c.Key, c.Value)
	case planner.SetPort:
		return doc.SetPort(c.Service, compose.Port(c.Port))
	case planner.RemovePort:
		return doc.RemovePort(c.Service, c.Port.Index)
	}
	return fmt.Errorf("internal error: unknown change %d", c.Kind)
}

// placeError gives a planner error about a service the file's line.
func placeError(doc *compose.Document, path string, err error) error {
	var se *planner.ServiceError
	if errors.As(err, &se) {
		return &compose.Error{Path: path, Line: doc.KeyLine(se.Service, "command"), Msg: se.Error()}
	}
	return &compose.Error{Path: path, Msg: err.Error()}
}

// Differences says, one line each, what the rewrite would change in
// meaning: services to add or remove, commands and pool variables.
func (r *Result) Differences(path string) ([]string, error) {
	before, err := servicesOf(path, r.Input)
	if err != nil {
		return nil, err
	}
	after, err := servicesOf(path, r.Output)
	if err != nil {
		return nil, err
	}
	return compose.Differences(before, after), nil
}

func servicesOf(path string, src []byte) ([]compose.Service, error) {
	doc, err := compose.Parse(path, src)
	if err != nil {
		return nil, err
	}
	return doc.Services()
}
