package engine

import (
	"fmt"
	"maps"
	"strings"

	"github.com/shipgate/shipgate/internal/executor"
	"github.com/shipgate/shipgate/internal/expr"
	"github.com/shipgate/shipgate/internal/workflow"
)

// containerSpec evaluates the job's `container:` and `services:` into the
// executor's Job (GitHub evaluates them with github, needs, strategy,
// matrix, vars, inputs and secrets; job env is not yet known). A job with
// neither is left alone.
func (l *leg) containerSpec() error {
	j := l.job
	if j.Container == nil && len(j.Services) == 0 {
		return nil
	}
	if c, ok := l.r.opts.Executor.(executor.Containers); !ok || !c.SupportsContainers() {
		key := "container"
		if j.Container == nil {
			key = "services"
		}
		return fmt.Errorf("%q needs the container executor; the %s executor runs jobs on this machine (shipgate run --executor container)", key, l.r.opts.Executor.Name())
	}
	ec := &expr.Context{Contexts: l.contexts, HashFiles: l.r.hashFiles}
	var err error
	if j.Container != nil {
		if l.exJob.Container, err = evalContainer(j.Container, ec); err != nil {
			return err
		}
	}
	for _, s := range j.Services {
		c, err := evalContainer(s.Container, ec)
		if err != nil {
			return fmt.Errorf("service %s: %w", s.ID, err)
		}
		l.exJob.Services = append(l.exJob.Services, &executor.Service{ID: s.ID, Container: *c})
	}
	// Steps in the container read the event by its host path.
	l.exJob.Mounts = append(l.exJob.Mounts, l.r.eventPath())
	return nil
}

func evalContainer(c *workflow.Container, ec *expr.Context) (*executor.Container, error) {
	eval := func(s workflow.String, what string) (string, error) {
		v, err := expr.Interpolate(s.Value, ec)
		if err != nil {
			return "", fmt.Errorf("%s: %s: %v", s.Pos, what, err)
		}
		return v, nil
	}
	out := &executor.Container{Env: map[string]string{}}
	var err error
	if out.Image, err = eval(c.Image, "image"); err != nil {
		return nil, err
	}
	if out.Image == "" {
		return nil, fmt.Errorf("%s: the image is empty", c.Pos)
	}
	if out.Options, err = eval(c.Options, "options"); err != nil {
		return nil, err
	}
	for _, kv := range c.Env {
		if out.Env[kv.Key], err = eval(kv.Value, "env "+kv.Key); err != nil {
			return nil, err
		}
	}
	for _, p := range c.Ports {
		v, err := eval(p, "ports")
		if err != nil {
			return nil, err
		}
		out.Ports = append(out.Ports, v)
	}
	for _, p := range c.Volumes {
		v, err := eval(p, "volumes")
		if err != nil {
			return nil, err
		}
		out.Volumes = append(out.Volumes, v)
	}
	if c.Credentials {
		if out.Username, err = eval(c.Username, "credentials.username"); err != nil {
			return nil, err
		}
		if out.Password, err = eval(c.Password, "credentials.password"); err != nil {
			return nil, err
		}
		if out.Username == "" && out.Password == "" {
			out.Username = "(set)" // present but empty: still rejected by the executor
		}
	}
	return out, nil
}

// jobContainerContext is job.container and job.services as GitHub has
// them once the executor started them.
func (l *leg) jobContainerContext() (ctr, services map[string]any) {
	ctr, services = map[string]any{}, map[string]any{}
	if c := l.exJob.Container; c != nil && c.ContainerID != "" {
		ctr = map[string]any{"id": c.ContainerID, "network": c.Network}
	}
	for _, s := range l.exJob.Services {
		if s.ContainerID == "" {
			continue
		}
		ports := map[string]any{}
		for k, v := range maps.All(s.HostPorts) {
			if !strings.Contains(k, "/") {
				ports[k] = v
			}
		}
		services[s.ID] = map[string]any{"id": s.ContainerID, "network": s.Network, "ports": ports}
	}
	return ctr, services
}
