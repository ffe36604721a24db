-module(calc_SUITE).
-include_lib("common_test/include/ct.hrl").
-export([all/0, sub_case/1, zero_case/1, flaky_case/1]).

all() -> [sub_case, zero_case, flaky_case].

sub_case(_Config) ->
    1 = calc:sub(3, 2).

zero_case(_Config) ->
    {error, div_by_zero} = calc:safe_div(1, 0).

%% Flaky on purpose when CALC_FLAKY_STATE names a file: fails when the file
%% is absent (and creates it), passes when present (and removes it). Without
%% the variable it passes.
flaky_case(_Config) ->
    case os:getenv("CALC_FLAKY_STATE") of
        V when V =:= false; V =:= "" ->
            ok;
        State ->
            case filelib:is_file(State) of
                false ->
                    ok = file:write_file(State, <<"failed once">>),
                    ct:fail(first_run_fails);
                true ->
                    ok = file:delete(State)
            end
    end.
