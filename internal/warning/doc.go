// Package warning carries the warnings of one API request from whatever finds them
// (admission, say) to the response, where the API server sends them as Warning headers
// that kubectl prints.
package warning
