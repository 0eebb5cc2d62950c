package policy

import "strings"

// Ownership tags mark the snapshots a policy created. The tag is the final
// whitespace-separated token of a description, so a description the user edits
// by appending text after the tag is no longer owned and is never pruned: when
// in doubt, a snapshot belongs to nobody. Owner accepts trailing whitespace
// (DSM's web UI may leave it), requires whitespace or the start of the text
// before the tag, and accepts only policy names valid in the configuration
// (`[a-z0-9][a-z0-9_.-]*`, at most 64 characters), so "[SNAPD:homes]",
// "x[snapd:homes]" and "[snapd:Homes]" mark no owner.

const (
	ownerTagPrefix = "[snapd:"
	ownerTagSuffix = "]"
	ownerMaxName   = 64
)

// OwnerTag returns the tag that marks a snapshot as created by policy,
// e.g. "[snapd:homes]".
func OwnerTag(policy string) string {
	return ownerTagPrefix + policy + ownerTagSuffix
}

// Describe returns the description snapd gives a snapshot it creates for
// policy: the user's text, one space, and the ownership tag, e.g.
// "hourly [snapd:homes]". Trailing whitespace of the user's text is dropped so
// that the tag stays the final token; an empty text yields the tag alone.
func Describe(userDesc, policy string) string {
	userDesc = strings.TrimRight(userDesc, " \t\r\n")
	if userDesc == "" {
		return OwnerTag(policy)
	}
	return userDesc + " " + OwnerTag(policy)
}

// Owner returns the policy whose tag ends desc, and false when desc does not
// end with a well-formed tag.
func Owner(desc string) (policy string, ok bool) {
	desc = strings.TrimRight(desc, " \t\r\n")
	if !strings.HasSuffix(desc, ownerTagSuffix) {
		return "", false
	}
	i := strings.LastIndex(desc, ownerTagPrefix)
	if i < 0 {
		return "", false
	}
	if i > 0 && !ownerIsSpace(desc[i-1]) {
		return "", false
	}
	name := desc[i+len(ownerTagPrefix) : len(desc)-len(ownerTagSuffix)]
	if !ownerValidName(name) {
		return "", false
	}
	return name, true
}

func ownerIsSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\n'
}

// ownerValidName reports whether name matches `[a-z0-9][a-z0-9_.-]*` and is
// at most 64 characters long, the rule for policy names in the configuration.
func ownerValidName(name string) bool {
	if name == "" || len(name) > ownerMaxName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}
