-module(calc_SUITE).
-include_lib("common_test/include/ct.hrl").
-export([all/0, sub_case/1, zero_case/1]).

all() -> [sub_case, zero_case].

sub_case(_Config) ->
    1 = calc:sub(3, 2).

zero_case(_Config) ->
    {error, div_by_zero} = calc:safe_div(1, 0).
