%% A deliberately flaky test: it fails on every other run, keeping its
%% state in a file next to the build (so the flip is deterministic).
-module(calc_flaky_tests).
-include_lib("eunit/include/eunit.hrl").

flip_test() ->
    State = "_build/flaky_state",
    case filelib:is_file(State) of
        false ->
            ok = file:write_file(State, <<"failed once">>),
            ?assertEqual(3, calc:add(1, 1));
        true ->
            ok = file:delete(State),
            ?assertEqual(2, calc:add(1, 1))
    end.
