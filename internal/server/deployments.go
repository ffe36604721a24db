package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/shipgate/shipgate/internal/deploy"
	"github.com/shipgate/shipgate/internal/store"
)

// Deployments are recorded by `shipgate deploy` steps in the store of the
// repository they run in (<repository>/.shipgate, the deploy command's
// default --store); the server reads them from there, per repository.

// deployWindow is the span of the DORA figures shown.
const deployWindow = 30 * 24 * time.Hour

// EnvDeployments is one environment of one repository: its DORA figures
// over the window and its deployments, newest first.
type EnvDeployments struct {
	Repo        string             `json:"repo"`
	Env         string             `json:"env"`
	DORA        deploy.DORA        `json:"dora"`
	Deployments []store.Deployment `json:"deployments"`
}

// deployments reads every repository's deployment records of the window.
func (s *Server) deployments(ctx context.Context) ([]*EnvDeployments, error) {
	now := time.Now()
	var out []*EnvDeployments
	for _, repo := range s.cfg.Repositories {
		path := filepath.Join(repo.Path, store.DefaultDir, "shipgate.db")
		if _, err := os.Stat(path); err != nil {
			continue // no deployment from this repository yet
		}
		db, err := store.OpenFile(ctx, path)
		if err != nil {
			return nil, err
		}
		recs, err := db.Deployments().List(ctx, "", now.Add(-deployWindow))
		db.Close()
		if err != nil {
			return nil, err
		}
		byEnv := map[string][]store.Deployment{}
		for _, r := range recs {
			byEnv[r.Env] = append(byEnv[r.Env], r)
		}
		envs := make([]string, 0, len(byEnv))
		for e := range byEnv {
			envs = append(envs, e)
		}
		slices.Sort(envs)
		for _, e := range envs {
			list := byEnv[e]
			slices.SortStableFunc(list, func(a, b store.Deployment) int { return b.Started.Compare(a.Started) })
			out = append(out, &EnvDeployments{Repo: repo.Name, Env: e, Deployments: list,
				DORA: deploy.ComputeDORA(e, list, now.Add(-deployWindow), now)})
		}
	}
	return out, nil
}

func (s *Server) apiDeployments(w http.ResponseWriter, r *http.Request) {
	d, err := s.deployments(r.Context())
	if err != nil {
		s.fail(w, r, 500, err.Error())
		return
	}
	if d == nil {
		d = []*EnvDeployments{}
	}
	writeJSON(w, 200, d)
}

func (s *Server) deploymentsPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.deployments(r.Context())
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	s.render(w, r, "deployments", "Deployments", map[string]any{"Envs": d, "Days": int(deployWindow.Hours() / 24)})
}
