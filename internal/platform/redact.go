package platform

import "regexp"

// addressLike matches what names a place on the network in an error's text: URLs,
// IPv4 and bracketed IPv6 addresses with or without a port, and host:port.
var addressLike = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+` +
	`|\[[0-9a-fA-F:.%\w]+\](:\d+)?` +
	`|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b` +
	`|\b[a-zA-Z0-9][a-zA-Z0-9.-]*:\d{1,5}\b`)

// Redact returns err's text with every address and URL replaced by "<address>", for
// an answer to a client that must not learn where the service's peers live (a dial
// error names the peer's address, an HTTP error its URL). The log keeps the whole
// error.
func Redact(err error) string {
	if err == nil {
		return ""
	}
	return addressLike.ReplaceAllString(err.Error(), "<address>")
}
