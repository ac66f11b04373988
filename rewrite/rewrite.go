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
	for _, c := range plan.Changes {
		if err := apply(doc, c); err != nil {
			return nil, err
		}
	}
	out := doc.Bytes()
	if err := compose.Validate(path, out); err != nil {
		return nil, fmt.Errorf("internal error: the rewritten file would not load (%v); nothing was written, please report this with your compose file", err)
	}
	return &Result{Plan: plan, Input: src, Output: out}, nil
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
