package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Prometheus queries a Prometheus server's HTTP API.
type Prometheus struct {
	api     v1.API
	url     string
	Timeout time.Duration
}

// NewPrometheus returns a Querier for the server at url.
func NewPrometheus(url string) (*Prometheus, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", url, err)
	}
	return &Prometheus{api: v1.NewAPI(c), url: url, Timeout: 10 * time.Second}, nil
}

func (p *Prometheus) wrap(query string, err error) error {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) && apiErr.Type == v1.ErrBadData {
		return fmt.Errorf("%w %q: %s", ErrBadQuery, query, apiErr.Msg)
	}
	return fmt.Errorf("prometheus %s: %w", p.url, err)
}

// Query runs an instant query.
func (p *Prometheus) Query(ctx context.Context, query string, at time.Time) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	v, _, _, err := p.api.Query(ctx, query, at)
	if err != nil {
		return nil, p.wrap(query, err)
	}
	return values(v), nil
}

// QueryRange runs a range query and returns every point of every series.
func (p *Prometheus) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	v, _, _, err := p.api.QueryRange(ctx, query, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		return nil, p.wrap(query, err)
	}
	return values(v), nil
}

func values(v model.Value) []float64 {
	switch v := v.(type) {
	case *model.Scalar:
		return []float64{float64(v.Value)}
	case model.Vector:
		out := make([]float64, 0, len(v))
		for _, s := range v {
			out = append(out, float64(s.Value))
		}
		return out
	case model.Matrix:
		var out []float64
		for _, s := range v {
			for _, p := range s.Values {
				out = append(out, float64(p.Value))
			}
		}
		return out
	}
	return []float64{math.NaN()}
}

var _ Querier = (*Prometheus)(nil)
