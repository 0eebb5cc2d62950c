package dsmfake

import (
	"errors"
	"net/http"
	"net/http/httptest"
)

// ErrDropped is what the in-memory transport returns where a network client would see the
// connection closed without an answer.
var ErrDropped = errors.New("dsmfake: connection closed without an answer")

// Transport returns an http.RoundTripper that serves requests in-process, without a
// network, so clients can be tested inside a testing/synctest bubble. Dropped connections
// come back as ErrDropped, and a request whose context ends first returns its error.
func (n *NAS) Transport() http.RoundTripper { return transport{n} }

type transport struct{ n *NAS }

func (t transport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	sreq := req.Clone(req.Context())
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "192.0.2.1:49152"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	rec := httptest.NewRecorder()
	defer func() {
		if r := recover(); r != nil {
			if r != http.ErrAbortHandler {
				panic(r)
			}
			resp, err = nil, ErrDropped
		}
	}()
	t.n.ServeHTTP(rec, sreq)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}
