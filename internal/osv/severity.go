package osv

import (
	"fmt"
	"math"
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// BaseScore computes the CVSS base score of a vector (CVSS:3.0, CVSS:3.1
// or CVSS:4.0) and its qualitative rating (NONE, LOW, MEDIUM, HIGH,
// CRITICAL).
func BaseScore(vector string) (float64, string, error) {
	var score float64
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, "", fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		score = c.BaseScore()
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, "", fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		score = c.BaseScore()
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		c, err := gocvss40.ParseVector(vector)
		if err != nil {
			return 0, "", fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		score = c.Score()
	default:
		return 0, "", fmt.Errorf("CVSS vector %q: not CVSS 3.0, 3.1 or 4.0", vector)
	}
	score = math.Round(score*10) / 10
	return score, Rating(score), nil
}

// Rating is the CVSS qualitative rating of a score.
func Rating(score float64) string {
	switch {
	case score == 0:
		return "NONE"
	case score < 4:
		return "LOW"
	case score < 7:
		return "MEDIUM"
	case score < 9:
		return "HIGH"
	}
	return "CRITICAL"
}
