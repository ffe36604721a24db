package coverage

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/goccy/go-yaml"
)

// Config is a coverage.yml file:
//
//	min: 80
//	stretch: 85
//	patch-min: 90
//	modules:
//	  internal/auth: 90
//	  internal/billing: 85
type Config struct {
	Min      *float64           `yaml:"min"`
	Stretch  *float64           `yaml:"stretch"`
	PatchMin *float64           `yaml:"patch-min"`
	Modules  map[string]float64 `yaml:"modules"`
}

// LoadConfig reads a coverage.yml. Errors carry file:line:col.
func LoadConfig(name string) (*Config, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, false))
	}
	for _, v := range []*float64{c.Min, c.Stretch, c.PatchMin} {
		if v != nil && (*v < 0 || *v > 100) {
			return nil, fmt.Errorf("%s: %v is not a percentage between 0 and 100", name, *v)
		}
	}
	for k, v := range c.Modules {
		if v < 0 || v > 100 {
			return nil, fmt.Errorf("%s: module %s: %v is not a percentage between 0 and 100", name, k, v)
		}
	}
	return &c, nil
}

// ModuleMins returns the configured module minimums sorted by pattern.
func (c *Config) ModuleMins() []ModuleMin {
	out := make([]ModuleMin, 0, len(c.Modules))
	for _, k := range slices.Sorted(maps.Keys(c.Modules)) {
		out = append(out, ModuleMin{Pattern: k, Min: c.Modules[k]})
	}
	return out
}
