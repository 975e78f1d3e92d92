-- What each scheduler node last said about itself, written with its heartbeat: whether it is
-- healthy, the problems its `/healthz` names, how often it heartbeats and how many finished
-- results wait to be recorded (JSON, `rota::store::NodeHealth`). The console's node table shows
-- it beside the heartbeat's age, so a node that reaches the database but whose loops fail is
-- told apart from one that is silent. Additive: older binaries ignore the column.
ALTER TABLE nodes ADD COLUMN health TEXT;
