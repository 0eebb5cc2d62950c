package synology

import (
	"net/url"
	"testing"
)

func TestEncodeParams(t *testing.T) {
	params := map[string]any{
		"name":       "my share",
		"number":     "123",
		"snapshots":  []string{"GMT+09-2023.09.11-23.23.40"},
		"offset":     0,
		"lock":       true,
		"snapinfo":   map[string]any{"desc": `d "q" <&>`, "lock": true},
		"additional": []string{"desc", "lock"},
	}
	form := url.Values{}
	if err := encodeParams(form, params, true); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"name":       `"my share"`,
		"number":     `"123"`,
		"snapshots":  `["GMT+09-2023.09.11-23.23.40"]`,
		"offset":     `0`,
		"lock":       `true`,
		"snapinfo":   `{"desc":"d \"q\" <&>","lock":true}`,
		"additional": `["desc","lock"]`,
	}
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("encodeParams JSON %s = %s, want %s", k, got, v)
		}
	}
	raw := url.Values{}
	if err := encodeParams(raw, map[string]any{"account": "bob", "passwd": `p"w`, "list": []string{"a"}, "on": true}, false); err != nil {
		t.Fatal(err)
	}
	if raw.Get("account") != "bob" || raw.Get("passwd") != `p"w` || raw.Get("list") != `["a"]` || raw.Get("on") != "true" {
		t.Errorf("encodeParams raw = %v, want strings as given, the rest as JSON", raw)
	}
}
