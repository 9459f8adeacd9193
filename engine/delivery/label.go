package delivery

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
)

// EndpointLabel names a destination URL where it is seen by more people
// than the API's architects: in /metrics labels and in the log. Many
// webhook URLs are capabilities — Slack's, Discord's and Zapier's carry
// their token in the path, others in the query — so the label keeps only
// the scheme and host, and tells URLs on one host apart by a short hash of
// the whole URL: "https://hooks.slack.com (3fa9c2d1)". GET /v1/endpoints
// gives each URL's label, to go from a dashboard to the URL.
func EndpointLabel(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	hash := hex.EncodeToString(sum[:4])
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(" + hash + ")" // stored URLs were checked; this is for safety, not use
	}
	return u.Scheme + "://" + u.Host + " (" + hash + ")"
}
