package logging

// MessageIDs maps each kind of action (the value of the action field) to the
// 128-bit MESSAGE_ID its journal records carry. The IDs were drawn once with
// `journalctl --new-id128` and never change: monitoring and saved journalctl
// queries select on them, so an ID belongs to its action for good. A new action
// gets a new ID; a retired action's ID is never reused.
var MessageIDs = map[string]string{
	"snapshot.create":  "36bd8aa6cc8a44bfb6b0aafa33cd9560",
	"snapshot.delete":  "9b2a44ea64424a4892d81368c6f021e6",
	"snapshot.set":     "0f6cdb0b1f8349b3ae260571049ae705",
	"replication.sync": "343d98df388a404f9178597137a2a2b4",
	"prune.plan":       "e377b840727243be92b6ca859c3cbc3f",
	"prune.refused":    "c7b2b5eb56794bc5bbe37d1d3acedb3a",
	"run.skipped":      "2f4a6e12dd5847a79f1cea8c9863ce05",
	"run.missed":       "4100e91bed464a308d3038f6580526bb",
	"run.start":        "1754b53782ae444aa30b5faa83aeb9a0",
	"run.finish":       "1ab19a64eaf54e67a09c5f62824c1abb",
	"daemon.start":     "95f2eb2e6b504bab94d42b437ab3b982",
	"daemon.reload":    "cefd41fa7a8c40a7b6302f84f448df4a",
	"daemon.stop":      "96efae8ddbc24770838938abd13436b8",
	"nas.login":        "f977eea1bbd341e3abb31fa6cabc4c4b",
}

// MessageID returns the MESSAGE_ID of an action, or "" when the action has none.
func MessageID(action string) string {
	return MessageIDs[action]
}
